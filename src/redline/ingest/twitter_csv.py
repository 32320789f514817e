"""Twitter/X CSV exports, as in the "How ISIS uses Twitter" set.

Columns: name, username, tweetid, time, tweets (and the usual alternative names).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from redline.ingest.csv_generic import find_column, read_header, read_mapped_csv
from redline.ingest.records import Read, ReadContext
from redline.ingest.times import parse_us_minutes

TWEET_ID_COLUMNS = ("tweetid", "tweet_id", "id_str", "id")
TWEET_TEXT_COLUMNS = ("tweets", "full_text", "text", "tweet")


class TwitterCsv:
    """Tweets, one per row, with the tweet id, account, time and text; HTML entities decoded."""

    name = "twitter-csv"
    description = "Twitter/X CSV export (tweetid/tweet_id, username, time, tweets/text columns)"

    def sniff(self, path: Path) -> bool:
        if not (path.is_file() and path.suffix.lower() == ".csv"):
            return False
        header = read_header(path)
        has_tweet_id = find_column(header, ("tweetid", "tweet_id", "id_str")) is not None
        has_tweet_text = find_column(header, ("tweets", "full_text")) is not None
        has_account = find_column(header, ("username", "screen_name", "user_screen_name"))
        return (has_tweet_id or has_tweet_text) and has_account is not None

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Read]:
        # The exports escape &, < and > as HTML entities (&amp;); the text people saw had none.
        parse = parse_us_minutes if ctx.columns.time_format is None else None
        return read_mapped_csv(
            path,
            ctx,
            id_names=TWEET_ID_COLUMNS,
            text_names=TWEET_TEXT_COLUMNS,
            parse=parse,
            unescape_html=True,
        )
