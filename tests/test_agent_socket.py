"""agent_socket.py: where the agent's socket lives, and which folders are trusted to hold it.

A folder is private only if it is a real directory of this user closed to group and others: any
one permission bit for group or others (read, write or search) is refused, since each lets
another local user list, replace or reach the socket. Each mode is checked on a real folder.
"""

import os
import socket
import stat

import pytest

from leakhunt.agent_socket import (
    check_directory_is_private,
    default_directory,
    is_stale,
    prepare_directory,
    remove_stale_sockets,
)
from leakhunt.errors import UsageError

# Every permission bit for group and for others, alone and as commonly set.
OPEN_MODES = [0o740, 0o720, 0o710, 0o704, 0o702, 0o701, 0o750, 0o770, 0o755, 0o705, 0o777]


def folder_with_mode(tmp_path, mode: int):
    folder = tmp_path / "leakhunt-folder"
    folder.mkdir()
    os.chmod(folder, mode)  # chmod, not mkdir's mode: the umask would clear bits
    return folder


@pytest.mark.parametrize("mode", OPEN_MODES, ids=oct)
def test_a_folder_open_to_group_or_others_in_any_way_is_refused(tmp_path, mode):
    folder = folder_with_mode(tmp_path, mode)
    with pytest.raises(UsageError) as refused:
        check_directory_is_private(folder)
    assert f"mode {mode:o}" in refused.value.message and "mode 700" in refused.value.message
    assert stat.S_IMODE(folder.stat().st_mode) == mode  # never changed


@pytest.mark.parametrize("mode", [0o700, 0o500, 0o300])
def test_a_folder_closed_to_group_and_others_is_private(tmp_path, mode):
    check_directory_is_private(folder_with_mode(tmp_path, mode))


def test_a_symlink_to_a_private_folder_is_refused(tmp_path):
    target = folder_with_mode(tmp_path, 0o700)
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(UsageError, match="is not a directory"):
        check_directory_is_private(link)


def test_the_default_folder_when_it_exists_must_be_private_and_keeps_its_mode(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    folder = default_directory()
    assert folder == tmp_path / f"leakhunt-{os.getuid()}"
    folder.mkdir()
    os.chmod(folder, 0o750)
    with pytest.raises(UsageError, match="mode 750"):
        prepare_directory(folder, must_be_private=True)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    prepare_directory(folder, must_be_private=False)  # a folder the user named: theirs to choose


def test_a_missing_folder_is_created_0700(tmp_path):
    folder = tmp_path / "made"
    prepare_directory(folder, must_be_private=True)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_only_sockets_nobody_accepts_on_are_removed(tmp_path):
    folder = folder_with_mode(tmp_path, 0o700)
    live, dead = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)
    try:
        live.bind(str(folder / "agent-1.sock"))
        live.listen()
        dead.bind(str(folder / "agent-2.sock"))  # bound, never listening: what a killed agent leaves
        assert not is_stale(folder / "agent-1.sock") and is_stale(folder / "agent-2.sock")
        assert remove_stale_sockets(folder) == [folder / "agent-2.sock"]
        assert sorted(path.name for path in folder.iterdir()) == ["agent-1.sock"]
    finally:
        live.close()
        dead.close()
