"""`make mutate`'s score: killed / (checked - listed equivalents), its 95 % interval, and its
table in results.md, a row a package, kept across runs that check other packages."""

from benchmarks.mutation_score import HEADING, interval, score, write_results

HEADER = "| package | mutants | checked | killed or timed out | listed equivalent | score | 95 % interval |"


def test_the_score_leaves_the_listed_equivalents_out_of_what_could_be_killed():
    assert score(killed=85, equivalent=5, checked=105) == 0.85
    assert score(killed=0, equivalent=3, checked=3) == 1.0


def test_the_interval_of_a_sample_holds_its_score_and_narrows_with_more_mutants():
    low, high = interval(80, 0, 100)
    assert low < 0.80 < high
    wide = high - low
    low, high = interval(800, 0, 1000)
    assert low < 0.80 < high and high - low < wide / 2


def test_a_run_rewrites_its_packages_rows_and_keeps_the_others_and_every_other_section(tmp_path):
    results = tmp_path / "results.md"
    soak = "## Default soak\n\n| measure | value |\n|---|---|\n| wall | 3.6 s |\n"
    results.write_text("# Benchmark results\n\n" + soak)
    first = [HEADER, "|---|", "| report/ | 5095 | 100 | 70 | 2 | 71.4% | 61.8% to 79.4% |", "the rest: 71.4%"]
    write_results(first, ["--sample", "100", "leakhunt.report.*"], 600.0, results)
    second = [HEADER, "|---|", "| runs/ | 2384 | 100 | 90 | 0 | 90.0% | 82.6% to 94.5% |"]
    write_results(second, ["--sample", "100", "leakhunt.runs.*"], 1200.0, results)
    text = results.read_text()
    assert "| wall | 3.6 s |" in text
    section = text.split(f"## {HEADING}", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith(("| report/", "| runs/"))]
    assert [row.split("|")[1].strip() for row in rows] == ["report/", "runs/"]
    assert rows[0].startswith("| report/ | 5095 | 100 | 70 | 2 | 71.4% | 61.8% to 79.4% | ")
    assert "`make mutate SAMPLE=100 MUTANTS='leakhunt.report.*'`, 10 min |" in rows[0]
    assert "`make mutate SAMPLE=100 MUTANTS='leakhunt.runs.*'`, 20 min |" in rows[1]
    # Rerun, a package's row is replaced, not repeated.
    write_results(second, ["--sample", "100", "leakhunt.runs.*"], 60.0, results)
    assert results.read_text().count("| runs/ |") == 1
