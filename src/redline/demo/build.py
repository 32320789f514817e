"""Builds the demo data set: generated images and altered copies, short generic posts in English,
Arabic and French, a Telegram Desktop export, a CSV and a URL list.

Everything is made here from a fixed seed, so the set is the same on every machine and needs no
download and no real data. None of it is extremist or real: the posts are everyday notices, the
images are shapes and gradients with "DEMO" written on them. Later stages add what they need to
show (a demo bank, flagged examples) next to this.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps
from sqlalchemy import Engine

from redline.store.media import MediaStore

SEED = 20261123
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

# Everyday notices, the same few things said in three languages.
POSTS = {
    "en": [
        "Road works on the main street until Friday, please use the bridge.",
        "The library opens late on Thursdays this month.",
        "Lovely weather for the football match today!",
        "Community clean-up this Saturday at 10am, everyone welcome.",
        "The bakery on the corner has fresh bread again.",
        "Bus line 4 is running every 20 minutes during the holidays.",
    ],
    "ar": [
        "أعمال صيانة في الشارع الرئيسي حتى يوم الجمعة، يرجى استخدام الجسر.",
        "تفتح المكتبة حتى وقت متأخر أيام الخميس هذا الشهر.",
        "طقس جميل لمباراة كرة القدم اليوم!",
        "حملة تنظيف الحي يوم السبت الساعة العاشرة صباحا، الجميع مرحب بهم.",
        "المخبز في الزاوية لديه خبز طازج مرة أخرى.",
    ],
    "fr": [
        "Travaux sur la rue principale jusqu'à vendredi, merci de prendre le pont.",
        "La bibliothèque ouvre tard le jeudi ce mois-ci.",
        "Beau temps pour le match de football aujourd'hui !",
        "Nettoyage du quartier samedi à 10h, tout le monde est bienvenu.",
        "La boulangerie du coin a de nouveau du pain frais.",
    ],
}
# What the classifier must leave alone, in the three languages: reporting on an attack, research
# on propaganda, counter-speech, religious greetings. And posts that carry links.
HARD_NEGATIVES = [
    ("en", "Reporters say the armed group claimed the attack; officials urged calm."),
    ("en", "Researchers published a study of how extremist propaganda spreads online."),
    ("en", "Ramadan Mubarak to all our neighbours, may your prayers be accepted."),
    ("ar", "أفادت وكالات الأنباء بأن التنظيم تبنى الهجوم، ودعا المسؤولون إلى الهدوء."),
    ("ar", "رمضان مبارك لكل الجيران، تقبل الله منا ومنكم."),
    ("fr", "Des chercheurs ont publié une étude sur la propagande extrémiste en ligne."),
    ("fr", "Non à la haine : notre quartier reste uni après l'attentat."),
    (
        "en",
        "Minutes of the meeting are at https://pastebin.com/DEMOnotes and photos at "
        "https://www.mediafire.com/file/demo123/photos.zip",
    ),
    ("en", "Join the neighbourhood chat: https://t.me/joinchat/DEMOinvite"),
]
# A long notice the demo's text bank knows, and a re-typed copy with small edits that a post
# carries: MinHash matches it as media hashes match a re-encoded image.
KNOWN_STATEMENT = (
    "Statement of the residents' committee: the spring festival moves to the riverside park "
    "this year, stalls open at nine, the parade starts at noon from the old bridge, and all "
    "volunteers meet at the library the evening before to set up the tents and the lights."
)
RETYPED_STATEMENT = (
    KNOWN_STATEMENT.replace("nine", "9")
    .replace("the lights", "the lights!!")
    .replace("Statement", "STATEMENT")
)
ACCOUNTS = [
    "town_notices",
    "river_walkers",
    "corner_bakery",
    "bus_line_4",
    "quartier_nord",
    "ahl_alhay",
    "weekend_league",
]
URLS = [
    "https://example.org/notices/road-works?utm_source=demo&utm_medium=post",
    "HTTPS://Example.ORG:443/notices/road-works",
    "https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.org%2Flibrary%3Ffbclid%3Dabc&h=AT0",
    "https://t.co/DEMO1234",
    "https://x.com/town_notices/status/1001?s=20",
    "https://youtu.be/demoVIDEO01?si=share",
    "https://files.example.net/download/demo.pdf",
    # What an export keeps of a post whose account was suspended: `redline outlinks` lists it
    # apart from the links to content.
    "https://x.com/account/suspended",
    "not a url at all",
]


@dataclass
class DemoSet:
    """Where the demo files are: source name -> (path, format to ingest it as), and the known
    content and hash list the demo banks are made from."""

    root: Path
    sources: dict[str, tuple[Path, str]] = field(default_factory=dict)
    known_media: list[Path] = field(default_factory=list)
    partner_list: Path | None = None


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def base_image(index: int, rng: random.Random, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A gradient with random shapes and the word DEMO: distinct per index, harmless."""
    width, height = size
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(6 + index % 4):
        x0, y0 = rng.randrange(width - 60), rng.randrange(height - 60)
        x1, y1 = x0 + rng.randrange(40, 260), y0 + rng.randrange(40, 200)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour, outline=(0, 0, 0), width=3)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour, outline=(255, 255, 255), width=3)
    draw.text(
        (24, height - 110),
        f"DEMO {index + 1}",
        font=_font(72),
        fill=(255, 255, 255),
        stroke_width=3,
        stroke_fill=(0, 0, 0),
    )
    return image


def variants(image: Image.Image) -> dict[str, Image.Image]:
    """Altered copies as re-uploads make them: smaller, cropped, marked, recoloured."""
    width, height = image.size
    marked = image.copy()
    ImageDraw.Draw(marked).text(
        (width - 230, 20),
        "reposted",
        font=_font(40),
        fill=(255, 255, 0),
        stroke_width=2,
        stroke_fill=(0, 0, 0),
    )
    dx, dy = width * 5 // 100, height * 5 // 100
    return {
        "resized": image.resize((width // 2, height // 2), Image.Resampling.LANCZOS),
        "cropped": image.crop((dx, dy, width - dx, height - dy)),
        "watermarked": marked,
        "letterboxed": ImageOps.expand(image, border=(0, 60), fill=(0, 0, 0)),
        "brighter": ImageEnhance.Brightness(image).enhance(1.3),
    }


def _write_images(folder: Path, rng: random.Random) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(6):
        image = base_image(index, rng)
        original = folder / f"demo-{index + 1}.png"
        image.save(original, optimize=False)
        written.append(original)
        # A re-encoded JPEG copy of every image, and altered copies of the first three.
        jpeg = folder / f"demo-{index + 1}-reencoded.jpg"
        image.save(jpeg, quality=60)
        written.append(jpeg)
        if index < 3:
            for name, copy in variants(image).items():
                path = folder / f"demo-{index + 1}-{name}.jpg"
                copy.save(path, quality=85)
                written.append(path)
    return written


def _write_video(path: Path, frames: list[Image.Image], scale: str | None = None) -> bool:
    """An H.264 video showing each frame for a second, made with ffmpeg; False without it."""
    if shutil.which("ffmpeg") is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        for number, frame in enumerate(frames):
            frame.save(Path(folder) / f"{number:03d}.png")
        command = [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-framerate",
            "1",
            "-i",
            str(Path(folder) / "%03d.png"),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-r",
            "10",
            "-threads",
            "1",
        ]
        if scale:
            command += ["-vf", f"scale={scale}"]
        subprocess.run([*command, str(path)], check=True)
    return True


def _write_partner_list(path: Path, images: list[Path]) -> None:
    """A hash list as a partner organisation would share it (python-threatexchange's CSV)."""
    from redline.signals.pdq import PdqSignal

    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["signal_type", "signal_str", "collab", "category", "tags"])
        for image in images:
            writer.writerow(
                ["pdq", PdqSignal.compute(image)[0].value, "Demo Partner", "POSITIVE_CLASS", "demo"]
            )
        writer.writerow(["pdq", "not-a-hash", "Demo Partner", "", ""])  # quarantined on import


def _posts(rng: random.Random) -> list[dict[str, str]]:
    rows = []
    number = 1
    when = START
    for lang, texts in POSTS.items():
        for text in texts:
            account = rng.choice(ACCOUNTS)
            rows.append(
                {
                    "id": f"p{number}",
                    "account": account,
                    "time": when.isoformat(),
                    "lang": lang,
                    "text": text,
                }
            )
            number += 1
            when += timedelta(minutes=rng.randrange(5, 90))
    for lang, text in [*HARD_NEGATIVES, ("en", RETYPED_STATEMENT)]:
        rows.append(
            {
                "id": f"p{number}",
                "account": rng.choice(ACCOUNTS),
                "time": when.isoformat(),
                "lang": lang,
                "text": text,
            }
        )
        number += 1
        when += timedelta(minutes=rng.randrange(5, 90))
    # The same notice re-posted by other accounts: stored once, counted as re-posts.
    for account in ACCOUNTS[:3]:
        rows.append(
            {
                "id": f"p{number}",
                "account": account,
                "time": when.isoformat(),
                "lang": "en",
                "text": POSTS["en"][0],
            }
        )
        number += 1
        when += timedelta(minutes=7)
    # An edited post: the same id with new text becomes a second revision.
    edited = dict(rows[1])
    edited["text"] = rows[1]["text"] + " (updated: also on Fridays)"
    rows.append(edited)
    return rows


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["id", "account", "time", "lang", "text"])
        writer.writeheader()
        writer.writerows(rows)
        stream.write("p999,town_notices\n")  # a truncated last row, as real exports have


def _write_telegram(folder: Path, rng: random.Random, images: list[Path]) -> None:
    photos = folder / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    messages: list[dict[str, object]] = [
        {
            "id": 1,
            "type": "service",
            "date": START.strftime("%Y-%m-%dT%H:%M:%S"),
            "date_unixtime": str(int(START.timestamp())),
            "actor": "Demo Channel",
            "action": "create_channel",
            "title": "Demo Channel",
            "text": "",
        },
    ]
    when = START + timedelta(minutes=5)
    for index, image_path in enumerate(images[:8]):
        target = photos / f"photo_{index + 1}@{when:%d-%m-%Y_%H-%M-%S}.jpg"
        with Image.open(image_path) as image:
            image.convert("RGB").save(target, quality=80)
        lang = ("en", "ar", "fr")[index % 3]
        text: object = POSTS[lang][index % len(POSTS[lang])]
        if index % 2 == 0:
            text = [
                {"type": "bold", "text": "Notice: "},
                str(text) + " ",
                {"type": "hashtag", "text": "#demo"},
                " ",
                {
                    "type": "text_link",
                    "text": "details",
                    "href": "https://example.org/notices?utm_source=tg",
                },
            ]
        messages.append(
            {
                "id": index + 2,
                "type": "message",
                "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
                "date_unixtime": str(int(when.timestamp())),
                "from": "Demo Channel",
                "from_id": "channel1000000001",
                "photo": f"photos/{target.name}",
                "width": 640,
                "height": 480,
                "text": text,
            }
        )
        when += timedelta(minutes=rng.randrange(10, 120))
    messages.append(
        {
            "id": 20,
            "type": "message",
            "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
            "date_unixtime": str(int(when.timestamp())),
            "from": "Demo Channel",
            "from_id": "channel1000000001",
            "file": "(File not included. Change data exporting settings to download.)",
            "media_type": "video_file",
            "mime_type": "video/mp4",
            "text": "Video of the match (not exported)",
        }
    )
    export = {
        "name": "Demo Channel",
        "type": "public_channel",
        "id": 1000000001,
        "messages": messages,
    }
    (folder / "result.json").write_text(
        json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8"
    )


def build_demo(root: Path) -> DemoSet:
    """Write the demo data set under ``root`` (overwriting an earlier one) and say where it is."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible pictures, not secrets
    root.mkdir(parents=True, exist_ok=True)
    media = root / "media"
    images = _write_images(media, rng)
    sidecar = {
        "id": "poster-1",
        "text": "Poster for the community clean-up",
        "account": "town_notices",
        "time": START.isoformat(),
        # Where the poster was seen: the address the demo's referral sends to its host.
        "url": "https://example.org/gallery/clean-up-poster",
    }
    (media / "demo-1.png.json").write_text(json.dumps(sidecar), encoding="utf-8")
    (media / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    csv_path = root / "posts.csv"
    posts = _posts(rng)
    _write_csv(csv_path, posts)
    # The same posts as `redline classify` reads them.
    (root / "classify.jsonl").write_text(
        "".join(
            json.dumps({"id": p["id"], "text": p["text"]}, ensure_ascii=False) + "\n" for p in posts
        ),
        encoding="utf-8",
    )
    telegram = root / "telegram"
    _write_telegram(telegram, rng, images)
    urls = root / "outlinks.txt"
    urls.write_text(
        "# outlinks collected for the demo\n" + "\n".join(URLS) + "\n", encoding="utf-8"
    )
    # Known content the demo banks hold: three originals, and a clip whose smaller copy is posted.
    known = [media / f"demo-{n}.png" for n in (1, 2, 3)]
    clip_frames = [base_image(20 + n, random.Random(20 + n)) for n in range(5)]  # noqa: S311
    known_video = root / "known" / "demo-clip.mp4"
    known_video.parent.mkdir(exist_ok=True)
    if _write_video(known_video, clip_frames):
        _write_video(media / "demo-clip-small.mp4", clip_frames, scale="320:240")
        known.append(known_video)
    partner_list = root / "partner-hashes.csv"
    _write_partner_list(partner_list, [media / "demo-4.png", media / "demo-5.png"])
    return DemoSet(
        root,
        {
            "demo-media": (media, "media-dir"),
            "demo-csv": (csv_path, "csv"),
            "demo-telegram": (telegram, "telegram-json"),
            "demo-urls": (urls, "url-list"),
        },
        known_media=known,
        partner_list=partner_list,
    )


def seed_demo_banks(engine: Engine, media: MediaStore, demo: DemoSet, actor: str) -> dict[str, int]:
    """Create the demo banks (once): known media added from files, a partner's hash list imported.

    Returns how many entries each demo bank holds.
    """
    from redline import banks
    from redline.model.base import utcnow

    with engine.connect() as connection:
        existing = {b.name for b in banks.list_banks(connection)}
    now = utcnow()
    if "demo-known-media" not in existing:
        # Each bank is created and filled in one transaction, its files hashed before it.
        known = [banks.hash_media(media, path) for path in demo.known_media]
        with engine.begin() as connection:
            banks.create_bank(
                connection,
                "demo-known-media",
                actor=actor,
                now=now,
                description="Synthetic 'known content' for the demo",
            )
            for file in known:
                banks.add_media(
                    connection,
                    "demo-known-media",
                    file,
                    actor=actor,
                    now=now,
                    category="demo_known_content",
                    source_org="redline demo",
                )
    if "demo-known-texts" not in existing:
        with engine.begin() as connection:
            banks.create_bank(
                connection,
                "demo-known-texts",
                actor=actor,
                now=now,
                text_threshold=0.7,
                description="A known statement, as its MinHash signature",
            )
            banks.add_text(
                connection,
                "demo-known-texts",
                KNOWN_STATEMENT,
                actor=actor,
                now=now,
                category="demo_known_text",
                source_org="redline demo",
            )
    if "demo-partner-list" not in existing and demo.partner_list is not None:
        with engine.begin() as connection:
            banks.create_bank(
                connection,
                "demo-partner-list",
                actor=actor,
                now=now,
                confirmed=False,
                description="A hash list shared by a (fictional) partner",
            )
            banks.import_file(
                connection, "demo-partner-list", demo.partner_list, actor=actor, now=now
            )
    with engine.connect() as connection:
        return {
            b.name: b.entries for b in banks.list_banks(connection) if b.name.startswith("demo-")
        }
