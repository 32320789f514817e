"""What the classifier sees of a post: links, mentions, retweets and hashtags as features,
Arabic spelling variants folded, religious vocabulary removed."""

from __future__ import annotations

import re

from redline.classify.features import prepare, split_hashtag
from redline.classify.language import detect


def test_retweet_links_and_mentions_become_features() -> None:
    seen = prepare("RT @newsdesk: read this https://pastebin.com/abc123 via @someone")
    assert "zzretweet" in seen
    assert seen.count("zzlink") == 1
    assert "zzmention" in seen
    assert "pastebin" not in seen  # the URL text itself is not a feature: its kind is
    assert "newsdesk" not in seen and "someone" not in seen  # nor are account names


def test_a_link_counts_but_not_where_it_leads() -> None:
    # Where a link goes is for the outlinks list; as a feature it made link kinds alone decisive.
    paste = prepare(
        "minutes at https://pastebin.com/abc and photos at https://www.mediafire.com/f/x"
    )
    plain = prepare("minutes at https://example.org/abc and photos at https://example.net/f/x")
    assert paste == plain
    assert paste.split().count("zzlink") == 2


def test_hashtags_keep_the_tag_and_its_words() -> None:
    seen = prepare("#BreakingNewsSyria today")
    assert "#breakingnewssyria" in seen
    assert "breaking news syria" in seen
    assert split_hashtag("WilayatAlJazirah") == "Wilayat Al Jazirah"
    assert split_hashtag("already_lower") == "already_lower"


def test_religious_vocabulary_is_removed_in_english_arabic_and_french() -> None:
    words = re.findall(
        r"\w+", prepare("Alhamdulillah, Jummah Mubarak to all, may Allah accept our prayers")
    )
    assert words == ["to", "all", "may", "accept", "our"]
    arabic = prepare("الحمد لله رب العالمين، جمعة مباركة")
    assert "الحمد" not in arabic and "لله" not in arabic and "مباركه" not in arabic
    assert "العالمين" in arabic  # the rest of the sentence stays
    assert "dieu" not in prepare("Que Dieu vous bénisse")


def test_arabic_spelling_variants_fold_together() -> None:
    plain = prepare("الدولة الإسلامية في الأخبار")
    variants = prepare("الدولــة الاسلاميه فى الاخبار")  # tatweel, ta marbuta, alef, ya
    diacritics = prepare("الدَّوْلَة الإِسْلَامِيَّة في الأَخْبَار")
    assert plain == variants == diacritics


def test_language_of_short_posts() -> None:
    assert detect("The ceasefire was announced this morning in the north") == "en"
    assert detect("Le cessez-le-feu a été annoncé ce matin dans le nord du pays") == "fr"
    assert detect("أعلن وقف إطلاق النار صباح اليوم في الشمال") == "ar"
    assert detect("https://example.org @someone #tag") == "und"
    assert detect("🙂🙂🙂") == "und"
    # Mixed scripts go to the script of most letters.
    assert detect("عاجل: أعلن وقف إطلاق النار صباح اليوم BREAKING") == "ar"
