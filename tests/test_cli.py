"""cli.py's consoles: each stands for rich's Console of its stream, built at its first use, and
behaves as that Console does, a `with` block included (rich's live displays open one at every
refresh, on a terminal)."""

from rich.console import Console

from leakhunt import cli


def test_a_console_stands_for_the_one_rich_console_of_its_stream_built_at_first_use():
    cli._console.cache_clear()
    try:
        progress, results, as_json = cli._progress(), cli._results(as_json=False), cli._results(as_json=True)
        assert cli._console.cache_info().currsize == 0  # nothing built yet: a refusal never loads rich
        assert progress.stderr and not results.stderr and as_json.stderr  # --json moves the prose to stderr
        assert progress.file is cli._console(True).file
        progress.width = 77  # set on the Console itself
        assert cli._console(True).width == 77
    finally:
        cli._console.cache_clear()


def test_a_with_block_on_a_console_is_the_consoles_own():
    cli._console.cache_clear()
    try:
        progress = cli._progress()
        with progress as inside:
            assert isinstance(inside, Console) and inside is cli._console(True)
            assert inside._buffer_index == 1  # rich buffers what is printed inside, until the block ends
        assert cli._console(True)._buffer_index == 0
    finally:
        cli._console.cache_clear()
