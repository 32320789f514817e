"""The benchmarks run end to end at tiny sizes and print the JSON their figures come from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {
    "jpeg",
    "resize",
    "crop",
    "crop_one_side",
    "border",
    "overlay",
    "brightness",
    "contrast",
    "grayscale",
    "flip",
    "rotate",
    "screenshot",
    "strip",
}
EXACT = {"recall": 1.0, "mismatched_queries": 0}


def broker_up(url: str) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def run_benchmark(script: str, *args: str, cache: Path, **env: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        # A bound for a stuck run, not a speed: the smoke runs take 10-60 s alone, and twice
        # passed 120 s in a full suite beside three benchmarking processes (load 10 on 2 cores).
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "REDLINE_BENCH_CACHE": str(cache), **env},
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def test_pdq_index_results_equal_faiss_flat(tmp_path: Path) -> None:
    result = run_benchmark(
        "pdq_index.py",
        *("--size", "1000", "--size", "3000", "--queries", "50", "--real-size", "300"),
        *("--skip-pdqindex-above", "2000", "--repeat", "1"),
        cache=tmp_path,
    )
    small, large = result["random"]
    real = result["real"]
    for section in (small, large, real):
        assert section["recall"]["redline_batch"] == EXACT
        assert section["recall"]["redline_single"] == EXACT
        assert section["goal_met"]["recall_exact"] is True
        assert section["query_us"]["redline_batch"] > 0
        assert section["query_us"]["faiss_flat"] > 0
    for section in (small, large):  # a planted query is within 31 of the hash it came from
        assert section["planted_queries_with_hits"] == section["queries_planted_near"] == 25
    assert small["recall"]["pdqindex"] == EXACT
    assert large["build_s"]["pdqindex"] is None and large["pdqindex_skipped"]
    assert real["recall"]["pdqindex"] == EXACT
    assert real["planted_queries_with_hits"] > 0
    assert list(tmp_path.glob("real-pdq-*.npz")), "the real hashes are cached"
    assert {"python", "cpus", "system"} <= set(result["machine"])


def test_robustness_measures_every_transform_family(tmp_path: Path) -> None:
    result = run_benchmark(
        "robustness.py",
        "--generated",
        "6",
        "--photos",
        "3",
        "--quick",
        "--videos",
        "0",
        cache=tmp_path,
    )
    assert "videos" not in result
    rows = {row["name"]: row for row in result["transforms"]}
    assert {row["family"] for row in rows.values()} == FAMILIES
    assert set(result["summary"]["families"]) == FAMILIES
    assert result["corpus"]["photos"] == ["astronaut", "camera", "chelsea"]
    assert result["corpus"]["images_measured"] == 9
    for row in rows.values():
        assert set(row["detection"]) == {
            "pdq",
            "pdq+dihedral",
            "redline",
            "redline+dihedral",
            "redline_first_generation",
            "redline_first_generation+dihedral",
        }
        assert row["images"] == 9
        assert 0 <= row["distance"]["median"] <= row["distance"]["p95"] <= 256
    # Sanity of the measurement itself: lossless or near-lossless changes are found, a quarter
    # turn only with dihedral matching, and distinct images never match each other.
    assert rows["grayscale"]["detection"]["pdq"] >= 0.9
    assert rows["rotate_90"]["detection"]["pdq"] == 0
    assert rows["rotate_90"]["detection"]["pdq+dihedral"] >= 0.5
    # redline's scan (border-trimmed hash, crop grid) finds letterboxed and cropped copies that
    # plain PDQ cannot.
    assert rows["letterbox_black_12pct"]["detection"]["pdq"] == 0
    assert rows["letterbox_black_12pct"]["detection"]["redline"] >= 0.9
    assert (
        rows["crop_2pct_each_side"]["detection"]["redline"]
        > rows["crop_2pct_each_side"]["detection"]["pdq"]
    )
    # The located picture finds screenshots the first generation's scan never did.
    assert rows["screenshot_rerender"]["detection"]["redline_first_generation"] == 0
    assert rows["screenshot_rerender"]["detection"]["redline"] >= 0.5
    assert result["false_matches"]["original_pairs_matching"]["redline+dihedral"] == 0
    assert result["false_matches"]["original_pairs"] == 36
    assert result["false_matches"]["original_pairs_matching"]["pdq"] == 0


def test_robustness_videos_compare_plain_vpdq_with_redline(tmp_path: Path) -> None:
    result = run_benchmark(
        "robustness.py",
        "--only",
        "videos",
        "--videos",
        "2",
        "--video-seconds",
        "12",
        "--quick",
        cache=tmp_path,
    )
    videos = result["videos"]
    rows = {row["transform"]: row["matched"] for row in videos["transforms"]}
    assert set(rows) == {"letterbox_4_3", "crop_10pct", "mirror"}
    # Plain vPDQ misses every one of them; redline's matching finds them.
    for name, matched in rows.items():
        assert matched == {"vpdq": 0.0, "redline": 1.0}, name
    assert videos["false_matches"]["redline"] == 0 and videos["false_matches"]["vpdq"] == 0
    assert set(videos["hash_seconds_per_video"]) >= {"vpdq_plain", "scan_query", "bank_crops"}


def test_robustness_texts_compare_jaccard_and_containment(
    tmp_path: Path, shared_data: Path
) -> None:
    result = run_benchmark(
        "robustness.py",
        "--only",
        "texts",
        "--quick",
        "--shared-data",
        str(shared_data),
        cache=tmp_path,
    )
    texts = result["texts"]
    rows = {row["name"]: row["matched"] for row in texts["transforms"]}
    # Whole-text Jaccard finds the edited whole text, never an excerpt; containment finds both.
    assert rows["upper_case"]["jaccard"] == 1.0 and rows["upper_case"]["containment"] == 1.0
    assert rows["excerpt_middle_100_of_200"] == {"jaccard": 0.0, "containment": 1.0, "redline": 1.0}
    assert rows["excerpt_middle_20"]["containment"] < 0.1  # under the 25-word minimum
    found = texts["false_matches"]
    assert found["sampled"] and found["texts"] == 3000
    assert found["containment_pairs_by_sources"].keys() <= {
        "article / article",
        "fanboy_tweet / fanboy_tweet",
    }


def test_classify_benchmark_measures_redline_beside_its_raw_floor(tmp_path: Path) -> None:
    result = run_benchmark(
        "classify.py",
        "--texts",
        "300",
        "--repeat",
        "1",
        "--embedding-texts",
        "40",
        cache=tmp_path,
    )
    rates = result["texts_per_s"]
    assert rates["raw"] > 0 and rates["first_stage"] > 0 and rates["predict"] > 0
    assert result["first_stage_share_of_raw"] == round(rates["first_stage"] / rates["raw"], 3)
    assert result["texts"] == 300
    assert set(result["goal_met"]) == {"first_stage_5000_per_s", "first_stage_80pct_of_raw"}


def test_web_benchmark_measures_console_latency_beside_a_trivial_endpoint(tmp_path: Path) -> None:
    result = run_benchmark(
        "web.py", "--cases", "300", "--requests", "5", "--databases", "sqlite", cache=tmp_path
    )
    assert result["benchmark"] == "web"
    assert (result["cases"], result["requests"], result["goals_apply"]) == (300, 5, False)
    assert "postgresql" not in result
    sqlite = result["sqlite"]
    assert sqlite["rows"]["cases"] == sqlite["rows"]["items"] == 300
    assert sqlite["rows"]["users"] == 3 and sqlite["rows"]["scores"] > 0
    assert 0 < sqlite["open_cases"] < 300
    endpoints = sqlite["endpoints"]
    assert set(endpoints) == {
        "queue",
        "queue_lang",
        "queue_signal",
        "case",
        "decide",
        "claim",
        "status",
        "static",
        "account",
        "bank",
        "dashboard",
        "health",
        "audit",
        "orders",
        "designations",
    }
    for figure in endpoints.values():
        assert 0 < figure["p50_ms"] <= figure["p95_ms"] <= figure["p99_ms"] <= figure["max_ms"]
        assert figure["p95_vs_trivial"] > 0
    assert endpoints["status"]["p95_vs_trivial"] == 1.0
    assert endpoints["queue"]["mean_bytes"] > 0 and endpoints["case"]["mean_bytes"] > 0
    assert set(sqlite["goal_met"]) == {
        "queue_p95_le_150ms",
        "queue_lang_p95_le_150ms",
        "queue_signal_p95_le_150ms",
        "case_p95_le_150ms",
        "decide_p95_le_100ms",
        *(
            f"{page}_p95_le_150ms"
            for page in (
                "account",
                "bank",
                "dashboard",
                "health",
                "audit",
                "orders",
                "designations",
            )
        ),
    }
    assert sqlite["all_goals_met"] == all(sqlite["goal_met"].values())
    assert result["all_goals_met"] == {"sqlite": sqlite["all_goals_met"]}
    assert set(sqlite["sql"]) == {"queue", "queue_lang", "queue_signal", "case", "decide"}
    for profile in sqlite["sql"].values():
        assert profile["statements_per_call"] > 0 and profile["handler_ms_per_call"] > 0
        assert profile["slowest"] and profile["slowest"][0]["sql"]


def test_login_flood_counts_hashes_only_up_to_the_limits(tmp_path: Path) -> None:
    """A sign-in flood against a served redline: after five wrong passwords for one user from
    one network every further attempt is refused before a hash, and a spray over many usernames
    computes hashes only up to the network's limit (50, five of them used already)."""
    arguments = ("login_flood.py", "--attempts", "12", "--seconds", "1", "--spray", "60")
    result = run_benchmark(*arguments, cache=tmp_path)
    if result["rate_windows_spanned"] > 1:  # crossed a quarter hour: the counts started afresh
        result = run_benchmark(*arguments, cache=tmp_path)
    assert result["rate_windows_spanned"] == 1
    assert result["paced_answers"] == {"401": 5, "429": 7}
    assert result["spray_answers"] == {"401": 45, "429": 15}
    assert result["status_idle"]["requests"] > 0


def test_throughput_processes_every_item_on_workers_and_in_the_scan(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    """20 text and 20 image items through the API onto 1 and 2 RabbitMQ workers, and through
    the scan: every item is processed each way, the one in ten that repeats a bank's content
    opens its case, and each way opens the same cases (the figures themselves are not checked,
    so every way scores with the tiny test model, which flags a few of the texts besides: the
    shipped one costs each process seconds to load)."""
    rabbit = os.environ.get("REDLINE_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672//")
    if not broker_up(rabbit):
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"RabbitMQ at {rabbit} is needed in CI")
        pytest.skip(f"no RabbitMQ at {rabbit}")
    server = os.environ.get("REDLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "throughput.py"),
            *("--quick", "--broker", rabbit, "--pg", server),
        ],
        capture_output=True,
        text=True,
        timeout=900,  # a bound for a loaded machine: eight redline processes start and stop
        cwd=ROOT,
        env={
            **os.environ,
            "REDLINE_BENCH_CACHE": str(tmp_path),
            "REDLINE_TEXT_MODEL": str(tiny_model_path),
        },
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout)
    assert result["benchmark"] == "throughput"
    assert len(result["load_before"]) == len(result["load_after"]) == 3
    for kind in ("text", "image"):
        section = result[kind]
        assert (section["items"], section["cases_expected"]) == (20, 2)
        for run in ("scan", "workers_1", "workers_2"):
            figures = section[run]
            assert figures["items"] == figures["items_processed"] == 20, (kind, run)
            assert figures["cases_opened"] == section["scan"]["cases_opened"] >= 2, (kind, run)
            assert figures["items_per_s"] > 0
        # The same ways on a backlog (another corpus, submitted while the workers took nothing).
        backlog = [section["backlog_1"], section["backlog_2"]]
        for figures in backlog:
            assert figures["items"] == figures["items_processed"] == 20, kind
            assert figures["items_per_s"] > 0
        assert backlog[0]["cases_opened"] == backlog[1]["cases_opened"] >= 2, kind
        # Where the CPU went: the workers' own, and the database's, measured in each run.
        assert {"workers", "api", "postgresql"} <= set(section["workers_2"]["cpu"]["ms_per_item"])
        assert section["workers_2"]["cpu"]["ms_per_item"]["workers"] > 0
        assert section["scan"]["cpu"]["ms_per_item"]["scan"] > 0
        assert section["workers_1"]["api_items_per_s"] > 0
        latency = section["latency_at_half_max"]
        assert latency["items"] == 20 and latency["cases"] >= latency["cases_expected"] == 2
        assert 0 < latency["p50_s"] <= latency["p95_s"] <= latency["max_s"]
        # The API's own rate, while the workers took nothing, and the file ingest's beside it.
        assert backlog[0]["api_alone_items_per_s"] > 0
        assert backlog[0]["api_alone_cpu"]["ms_per_item"]["api"] > 0
        assert section["scan"]["file_ingest_items_per_s"] > 0
        assert set(section["ratios"]) == {
            "workers_2_vs_1",
            "workers_1_vs_scan",
            "backlog_2_vs_1",
            "backlog_1_vs_scan",
            *(["api_alone_vs_file_ingest"] if kind == "text" else []),
        }
        assert {"workers_2_ge_1.7x_1", "p95_submit_to_case_le_2s"} <= set(section["goal_met"])
    assert "api_text_ge_2000_per_s" in result["text"]["goal_met"]


def test_stage_cpu_measures_text_calls_after_a_history(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    """The worker's text call, measured after items processed first (``--history``): the
    measured items alone are counted, and both the worker's and PostgreSQL's CPU are there."""
    server = os.environ.get("REDLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    result = run_benchmark(
        "stage_cpu.py",
        *("--kind", "text", "--items", "30", "--history", "20", "--chunk", "10"),
        *("--pg", server),
        cache=tmp_path,
        REDLINE_TEXT_MODEL=str(tiny_model_path),
    )
    assert (result["kind"], result["items"], result["history"], result["chunk"]) == (
        "text",
        30,
        20,
        10,
    )
    assert result["statements_per_call"] > 5
    assert result["cpu_ms_per_item"]["text"]["worker"] > 0
    assert result["cpu_ms_per_item"]["text"]["postgresql"] > 0
    # Wall time holds the worker's CPU at least (and the waits neither CPU figure shows).
    assert result["wall_ms_per_item"]["text"] >= result["cpu_ms_per_item"]["text"]["worker"]
