"""Fast nearest-neighbour indexes over signals."""
