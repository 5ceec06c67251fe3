"""agent_socket.py: where the agent's socket lives, and which folders are trusted to hold it.

A folder is private only if it is a real directory of this user closed to group and others: any
one permission bit for group or others (read, write or search) is refused, since each lets
another local user list, replace or reach the socket. Each mode is checked on a real folder.
"""

import os
import socket
import stat
from pathlib import Path

import pytest

from leakhunt.agent_socket import (
    check_directory_is_private,
    default_directory,
    default_socket_path,
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


def test_a_folder_of_another_user_is_refused_even_when_closed(tmp_path):
    # Root can hand a 0700 folder to another uid: the mode alone does not make it ours.
    if os.geteuid() != 0:
        pytest.skip("handing a folder to another uid needs root")
    folder = folder_with_mode(tmp_path, 0o700)
    os.chown(folder, 65534, -1)
    with pytest.raises(UsageError) as refused:
        check_directory_is_private(folder)
    assert refused.value.message == (
        f"{folder} is owned by uid 65534 with mode 700; the agent needs a folder of uid {os.getuid()} "
        "with mode 700: remove it, or pass --socket PATH in a folder you own, or set XDG_RUNTIME_DIR"
    )


def test_a_file_where_the_folder_should_be_is_refused_with_what_to_do(tmp_path):
    blocker = tmp_path / "leakhunt-folder"
    blocker.write_text("")
    with pytest.raises(UsageError) as refused:
        check_directory_is_private(blocker)
    assert refused.value.message == (
        f"{blocker} is not a directory (a symlink or a file is there): remove it, or "
        "pass --socket PATH in a folder you own"
    )
    with pytest.raises(UsageError) as refused:
        prepare_directory(blocker, must_be_private=False)
    assert refused.value.message == f"{blocker} is not a directory: pass --socket PATH in a folder you own"


def test_the_folders_above_a_missing_folder_are_created_too(tmp_path):
    folder = tmp_path / "run" / "user" / "leakhunt"
    prepare_directory(folder, must_be_private=False)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_folder_that_cannot_be_created_is_a_usage_error_naming_it_and_why(tmp_path):
    (tmp_path / "file").write_text("")
    folder = tmp_path / "file" / "sub" / "leakhunt"  # under a file: ENOTDIR, not "exists"
    with pytest.raises(UsageError) as refused:
        prepare_directory(folder, must_be_private=True)
    assert refused.value.message == (
        f"cannot create {folder}: Not a directory: pass --socket PATH in a folder you own"
    )


def test_a_symlinked_folder_is_used_when_the_user_named_it_but_not_as_the_default(tmp_path):
    target = folder_with_mode(tmp_path, 0o700)
    link = tmp_path / "link"
    link.symlink_to(target)
    prepare_directory(link, must_be_private=False)
    with pytest.raises(UsageError, match="is not a directory"):
        prepare_directory(link, must_be_private=True)


def test_the_default_folder_is_in_the_runtime_folder_when_there_is_one(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert default_directory() == tmp_path / "leakhunt"
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "gone"))  # set, but no such folder (su, cron)
    assert default_directory() == tmp_path / "tmp" / f"leakhunt-{os.getuid()}"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "")
    assert default_directory() == tmp_path / "tmp" / f"leakhunt-{os.getuid()}"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"TMPDIR": "/a", "TEMP": "/b", "TMP": "/c"}, "/a"),
        ({"TMPDIR": "", "TEMP": "/b", "TMP": "/c"}, "/b"),
        ({"TEMP": "/b", "TMP": "/c"}, "/b"),
        ({"TMP": "/c"}, "/c"),
        ({"TMPDIR": "", "TEMP": "", "TMP": ""}, "/tmp"),
        ({}, "/tmp"),
    ],
)
def test_without_a_runtime_folder_the_temporary_folder_is_chosen_as_tempfile_does(
    monkeypatch, environment, expected
):
    for name in ("XDG_RUNTIME_DIR", "TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert default_directory() == Path(expected) / f"leakhunt-{os.getuid()}"


def test_the_default_socket_is_named_by_the_pid_of_the_service(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert default_socket_path(4242) == tmp_path / "leakhunt" / "agent-4242.sock"
    assert default_socket_path() == tmp_path / "leakhunt" / f"agent-{os.getpid()}.sock"


def test_a_missing_socket_is_not_stale_and_other_sockets_are_left_alone(tmp_path):
    folder = folder_with_mode(tmp_path, 0o700)
    assert not is_stale(folder / "agent-9.sock")  # ENOENT: nothing there to remove
    dead, other = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)
    try:
        dead.bind(str(folder / "agent-3.sock"))
        other.bind(str(folder / "other.sock"))  # dead too, but not an agent's name: not ours to remove
        assert remove_stale_sockets(folder) == [folder / "agent-3.sock"]
        assert sorted(path.name for path in folder.iterdir()) == ["other.sock"]
    finally:
        dead.close()
        other.close()
