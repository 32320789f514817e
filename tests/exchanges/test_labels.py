"""Labels that travel: GIFCT's behaviour labels, TAT's ideologies and redline's own categories
become one redline category (the most severe) and ``source:label`` tags; what no mapping
knows is kept as a tag and given no category; the case page says which exchange an entry came
from."""

from __future__ import annotations

from redline.exchanges.labels import CATEGORIES, SEVERITY, label_key, tat_labels, travelled
from redline.review.evidence import origin


def test_gifct_behaviour_labels_map_to_redline_categories() -> None:
    assert travelled("te", ["Glorification of Terrorist Acts"]) == (
        "support_glorification",
        "te:glorification_of_terrorist_acts",
    )
    assert travelled("gifct", ["Radicalization, Recruitment, Instruction"])[0] == "recruitment"
    assert travelled("gifct", ["Imminent Credible Threat", "Content Incident"]) == (
        "threat_incitement",  # the most severe of the two
        "gifct:imminent_credible_threat gifct:content_incident",
    )


def test_tat_ideologies_and_redlines_own_categories() -> None:
    assert travelled("tat", tat_labels("far-right")) == (
        "official_media_distribution",
        "tat:ideology_far_right",
    )
    assert travelled("partner", ["recruitment"]) == ("recruitment", "partner:recruitment")


def test_unknown_labels_are_kept_but_give_no_category() -> None:
    assert travelled("te", ["media_type_video", "media_type_video", "  "]) == (
        None,
        "te:media_type_video",
    )
    assert travelled("te", []) == (None, None)
    assert len(travelled("te", [f"tag{n}" for n in range(100)])[1].split()) == 40


def test_every_category_in_the_severity_order_is_redlines() -> None:
    assert set(SEVERITY) == set(CATEGORIES)
    assert label_key("Far-Right ") == "far_right"


def test_the_case_page_says_which_exchange_an_entry_came_from() -> None:
    said = origin(
        {"exchange": "te-tvec", "remote_id": "4520951574588341"},
        from_file=False,
        source_org="ThreatExchange privacy group 303636684709969",
        added_by="exchange:te-tvec",
    )
    assert said == (
        "fetched from the exchange te-tvec (its entry 4520951574588341); shared by"
        " ThreatExchange privacy group 303636684709969 · by exchange:te-tvec"
    )
