"""Benchmark: synthetic word images per second, one process (one core).

Rows, one per background kind (``mixed``, ``plain``, ``cluttered``): ``render_word_shard`` over ``--words``
words, i.e. text sampling, rendering, background, effects, JPEG + mask PNG encoding (what one ctx.map
shard of the synth stage's ``words`` section does), at ``--height`` x ``--width`` (default 32 x 128;
``--width 0`` keeps each word's own aspect ratio). Word list loading is done once before timing.

Prints a table and one JSON line. Run (pinned to one core):
``taskset -c 0 python tests/benchmarks/bench_synth_words.py [--words 1000] [--height 32] [--width 128]``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from stages.synth.fonts import find_fonts  # noqa: E402
from stages.synth.word_params import WordParams  # noqa: E402
from stages.synth.words_stage import render_word_shard, word_shards  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--height", type=int, default=32)
    parser.add_argument("--width", type=int, default=128)
    args = parser.parse_args()
    results = {}
    for kind in ("mixed", "plain", "cluttered"):
        params = WordParams(splits={"bench": {"count": args.words, "background": kind}}, height=args.height,
                            width=args.width or None, shard_size=args.words)
        (shard,) = word_shards(params, 0, find_fonts(), None, None)["bench"]
        render_word_shard(type(shard)(**{**shard.__dict__, "count": 20}))  # fonts loaded, caches warm
        start = time.perf_counter()
        words = render_word_shard(shard)
        seconds = time.perf_counter() - start
        results[kind] = round(len(words) / seconds, 1)
        print(f"{kind:10s} {results[kind]:8.1f} words/s  ({len(words)} words, {seconds:.2f} s)")
    print(json.dumps({"bench": "synth_words", "height": args.height, "width": args.width, "words_per_s": results}))


if __name__ == "__main__":
    main()
