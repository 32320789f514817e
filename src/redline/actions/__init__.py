"""Acting on confirmed content and proving it: referrals to hosting services and liveness
checks of what was referred, removal orders with their one-hour deadline, and statements of
reasons in the DSA Transparency Database's format.

Plain functions over a SQLAlchemy ``Connection``, with ``now`` passed in, so every deadline can
be tested with a controlled clock; the CLI, the API and the scheduler are thin shells.
"""
