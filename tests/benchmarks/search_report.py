"""How the search benchmark (``tests.benchmarks.search``) shows its figures: the lines it
prints as it goes, and the Markdown tables of ``.data/bench/search.md``, as the README shows
them."""

from __future__ import annotations

from typing import Any


def _ms(figures: dict[str, float], name: str) -> str:
    return f"{figures[name]:,.1f}" if name in figures else "—"


def print_index(index: dict[str, Any]) -> None:
    before, after = index["memory_mib"]["before"], index["memory_mib"]["after"]
    files = index["disk_bytes"]
    parts = ", ".join(f"{name} {size / 1e6:,.1f}" for name, size in files.items())
    print(
        f"  {index['messages_per_second']:,.0f} messages/s applied ({index['apply_seconds']:.1f} s;"
        f" {index['wall_seconds']:.1f} s with making them); {index['caller_messages']:,} in the"
        f" caller's {index['caller_groups']} groups\n"
        f"  disk {sum(files.values()) / 1e6:,.1f} MB ({parts}): "
        f"{index['disk_mb_per_million']:,.0f} MB a million messages (the database)\n"
        f"  RSS of this process +{after['rss'] - before['rss']:,.0f} MiB (anonymous "
        f"+{after['anon'] - before['anon']:,.0f}, "
        f"file-backed +{after['file'] - before['file']:,.0f})",
        flush=True,
    )


def print_row(row: dict[str, Any]) -> None:
    http, engine = row["http_ms"], row["engine_ms"]
    print(
        f"  {row['kind']:<20} {row['order']:<9} {row['hits']:5.1f} {http['p50']:7.1f} "
        f"{http['p99']:7.1f} {http['max']:7.1f}  {engine['p50']:10.1f} {engine['p99']:6.1f}  "
        f"{row['verdict']}",
        flush=True,
    )


def print_live(live: dict[str, Any], memory: dict[str, Any], target_ms: float) -> None:
    found, read = live["findable_ms"], live["received_ms"]
    searches = live["searches_while_indexing_ms"]
    caught = live["caught_up_s"]
    ratio = f"{found['p50'] / read['p50']:.1f}x" if found and read and read["p50"] > 0 else "—"
    end = memory["after_live"]
    print(
        f"live: {live['written']:,} messages in {live['transactions']:,} transactions, "
        f"{live['written_per_second']:,.0f}/s, {live['markers']} of them markers\n"
        f"  commit → found by POST /search   p50 {_ms(found, 'p50')}  p99 {_ms(found, 'p99')}  "
        f"max {_ms(found, 'max')} ms ({live['not_found']} not found); target ≤ {target_ms:g} ms: "
        f"{live['verdict']}\n"
        f"  commit → read by a bare consumer p50 {_ms(read, 'p50')}  p99 {_ms(read, 'p99')}  "
        f"max {_ms(read, 'max')} ms (found / read, p50: {ratio})\n"
        f"  searches while indexing (the polls) p50 {_ms(searches, 'p50')}  "
        f"p99 {_ms(searches, 'p99')}  max {_ms(searches, 'max')} ms\n"
        f"  follower: {live['rounds']:,.0f} rounds of {live['round_ms_mean']:.1f} ms on average; "
        f"{live['behind_at_stop']:,} messages behind when the writing stopped, "
        + (f"caught up {caught:.2f} s later" if caught is not None else "NOT caught up")
        + f"\n  search service: {live['service_cpu_share']:.0%} of a core while indexing; RSS "
        f"{memory['ready']['rss']:,.0f} MiB ready, {memory['after_queries']['rss']:,.0f} after "
        f"the queries, {end['rss']:,.0f} after the live run (anonymous {end['anon']:,.0f}, "
        f"file-backed {end['file']:,.0f}), at most {end['peak']:,.0f}",
        flush=True,
    )


def markdown(results: dict[str, Any]) -> str:
    index, live, memory = results["index"], results["live"], results["service_memory_mib"]
    before, after = index["memory_mib"]["before"], index["memory_mib"]["after"]
    tenths = index["by_tenth"]
    lines = [
        "| messages | groups (caller's) | applied/s | first → last tenth | disk | db a million "
        "| RSS growth (anonymous) |",
        "|---|---|---|---|---|---|---|",
        f"| {index['messages']:,} | {index['groups']:,} ({index['caller_groups']}: "
        f"{index['caller_messages']:,} messages) | {index['messages_per_second']:,.0f} "
        f"| {tenths[0]:,.0f} → {tenths[-1]:,.0f} "
        f"| {sum(index['disk_bytes'].values()) / 1e6:,.0f} MB "
        f"| {index['disk_mb_per_million']:,.0f} MB | {after['rss'] - before['rss']:,.0f} MiB "
        f"({after['anon'] - before['anon']:,.0f}) |",
        "",
        "| query | order | hits | p50 | p99 | max | engine p50 | engine p99 | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    floor = results["floor_ms"]
    lines.append(
        f"| no group named (HTTP alone) | — | 0 | {floor['p50']:.1f} ms | {floor['p99']:.1f} ms "
        f"| {floor['max']:.1f} ms | — | — | — |"
    )
    for row in results["queries"]:
        http, engine = row["http_ms"], row["engine_ms"]
        lines.append(
            f"| {row['kind']} | {row['order']} | {row['hits']:.1f} | {http['p50']:.1f} ms "
            f"| {http['p99']:.1f} ms | {http['max']:.1f} ms | {engine['p50']:.1f} ms "
            f"| {engine['p99']:.1f} ms | {row['verdict']} |"
        )
    found, read = live["findable_ms"], live["received_ms"]
    caught = live["caught_up_s"]
    lines += [
        "",
        "| offered | written/s | commit → found p50 / p99 / max | commit → read (bare) p50 / p99 "
        "| not found | behind at stop | caught up | service CPU | service RSS ready → end |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {live['rate']:,.0f}/s | {live['written_per_second']:,.0f} | {_ms(found, 'p50')} / "
        f"{_ms(found, 'p99')} / {_ms(found, 'max')} ms | {_ms(read, 'p50')} / {_ms(read, 'p99')} "
        f"ms | {live['not_found']} | {live['behind_at_stop']:,} "
        f"| {'—' if caught is None else f'{caught:.2f} s'} | {live['service_cpu_share']:.0%} "
        f"| {memory['ready']['rss']:,.0f} → {memory['after_live']['rss']:,.0f} MiB |",
    ]
    return "\n".join(lines) + "\n"
