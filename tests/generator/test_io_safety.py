"""Loading never executes code; loaded data is checked; writing never destroys what is not ours."""

import errno
import json
import os
import pickle
import stat
import zipfile

import mnist1d.utils
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax import cli, files, outputs

SMALL = mnist1d_jax.get_dataset_args(num_samples=100)


@pytest.fixture(scope="module")
def small():
    return mnist1d_jax.reference_dataset(SMALL)


class Payload:
    """Unpickling this creates the folder `marker`: a stand-in for `os.system(...)`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


class SystemCall:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _malicious(small, marker, where):
    if where == "top":
        return Payload(marker)
    if where == "value":
        return {**small, "x": Payload(marker)}
    if where == "nested":
        return {**small, "templates": {**small["templates"], "t": [1, (Payload(marker),)]}}
    return {**small, "args": {"num_samples": Payload(marker)}}


# --- 2. loading never executes code ----------------------------------------------------------

@pytest.mark.parametrize("where", ["top", "value", "nested", "args"])
def test_load_refuses_pickles_that_would_run_code(tmp_path, small, where):
    path, marker = tmp_path / "evil.pkl", tmp_path / "marker"
    path.write_bytes(pickle.dumps(_malicious(small, marker, where), protocol=3))
    with pytest.raises(ValueError, match=r"evil\.pkl.*refers to posix\.mkdir"):
        files.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_os_system_is_refused_in_every_protocol(tmp_path, small, protocol):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({**small, "x": SystemCall()}, protocol=protocol))
    with pytest.raises(ValueError, match="refers to posix.system"):
        files.load(path)


def test_get_dataset_and_info_refuse_a_planted_default_file(tmp_path, small, monkeypatch,
                                                            capsys):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "marker"
    (tmp_path / "mnist1d_data.pkl").write_bytes(pickle.dumps(_malicious(small, marker, "value")))
    with pytest.raises(ValueError, match="refers to posix.mkdir"):
        mnist1d_jax.get_dataset()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["info", "mnist1d_data.pkl"])
    assert exit_info.value.code == 2 and "refers to posix.mkdir" in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_honest_pickles_of_every_protocol_load(tmp_path, small, protocol):
    path = tmp_path / "d.pkl"
    numpy_scalars = {**small, "args": {**SMALL.as_dict(), "scale_coeff": np.float64(0.4),
                                       "num_samples": np.int64(100)}}
    path.write_bytes(pickle.dumps(numpy_scalars, protocol=protocol))
    loaded = files.load(path)
    np.testing.assert_array_equal(loaded["x"], small["x"])
    assert loaded["args"] == SMALL.as_dict()


def test_published_and_reference_package_files_load(tmp_path, small, reference_pickle):
    import mnist1d.data
    from conftest import published_pickle_path, reference_args

    published = files.load(published_pickle_path())
    np.testing.assert_array_equal(published["x"], reference_pickle["x"])
    theirs = mnist1d.data.make_dataset(reference_args(num_samples=100))
    mnist1d.utils.to_pickle(theirs, tmp_path / "theirs.pkl")
    np.testing.assert_array_equal(files.load(tmp_path / "theirs.pkl")["x_test"], theirs["x_test"])


def test_npz_with_object_arrays_is_refused(tmp_path, small):
    np.savez(tmp_path / "d.npz", **{k: small[k] for k in files.DATA_KEYS},
             templates_x=np.array([Payload(tmp_path / "m")], dtype=object),
             templates_t=small["templates"]["t"], templates_y=small["templates"]["y"])
    with pytest.raises(ValueError, match="not a readable MNIST-1D dataset"):
        files.load(tmp_path / "d.npz")
    assert not (tmp_path / "m").exists()


# --- 5. loaded data is checked ---------------------------------------------------------------

def _corruptions(small):
    n = len(small["y"])
    yield "wrong x shape", {**small, "x": small["x"].ravel()}, "x must be 2-D float"
    yield "integer x", {**small, "x": small["x"].astype(np.int64)}, "x must be 2-D float"
    yield "label 10", {**small, "y": np.full(n, 10)}, r"labels outside \[0, 10\)"
    yield "label -1", {**small, "y_test": -small["y_test"] - 1}, r"labels outside \[0, 10\)"
    yield "short y", {**small, "y": small["y"][:-1]}, f"y has {n - 1} labels for {n} examples"
    yield "t length", {**small, "t": small["t"][:-1]}, "same number of positions"
    yield "args sizes", {**small, "args": {**SMALL.as_dict(), "num_samples": 1000}}, \
        "recorded arguments .* give x of shape"
    yield "args invalid", {**small, "args": {**SMALL.as_dict(), "padding": (9, 2)}}, \
        "recorded arguments are invalid: padding"
    yield "float labels", {**small, "y": small["y"].astype(float)}, "y must be 1-D integer"
    yield "templates", {**small, "templates": {**small["templates"], "t": np.zeros(3)}}, \
        "templates must be"


@pytest.mark.parametrize("suffix", [".pkl", ".npz", ""])
def test_inconsistent_files_are_refused_naming_file_and_problem(tmp_path, small, suffix):
    corruptions = list(_corruptions(small))
    if suffix != "":  # memory-mapped folders are not scanned for NaN
        corruptions.append(("NaN", {**small, "x_test": small["x_test"] * np.nan}, "not finite"))
    for name, data, problem in corruptions:
        path = tmp_path / f"bad{suffix}"
        if suffix == ".pkl":
            path.write_bytes(pickle.dumps(data))
        elif suffix == ".npz":
            np.savez(path, **{k: data[k] for k in files.DATA_KEYS},
                     **{f"templates_{k}": v for k, v in data["templates"].items()},
                     **({"args_json": np.array(json.dumps(data["args"]))} if "args" in data
                        else {}))
        else:
            os.makedirs(path, exist_ok=True)
            for key in files.DATA_KEYS:
                np.save(path / f"{key}.npy", data[key])
            for key, value in data["templates"].items():
                np.save(path / f"templates_{key}.npy", value)
            (path / files.FOLDER_META).write_text(json.dumps(
                {"format": files.FOLDER_FORMAT, "args": data.get("args")}))
        with pytest.raises(ValueError, match=f"bad{suffix}'.*{problem}") as info:
            files.load(path)
        assert "Traceback" not in str(info.value), name


def _truncated(path, fraction=0.5):
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * fraction)])


@pytest.mark.parametrize("suffix", [".pkl", ".npz"])
@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.99])
def test_truncated_files_are_value_errors(tmp_path, small, suffix, fraction, capsys):
    path = tmp_path / f"d{suffix}"
    files.save(small, path)
    _truncated(path, fraction)
    with pytest.raises(ValueError, match=f"d{suffix}' is not a"):
        files.load(path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["info", str(path)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_corrupted_bytes_and_foreign_archives(tmp_path, small):
    path = tmp_path / "d.pkl"
    files.save(small, path)
    content = bytearray(path.read_bytes())
    content[len(content) // 2: len(content) // 2 + 64] = os.urandom(64)
    path.write_bytes(bytes(content))
    try:
        files.load(path)  # random bytes inside an array's data may still parse: then it is checked
    except ValueError as error:
        assert "d.pkl" in str(error)
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as archive:
        archive.writestr("x.npy", b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match="z.npz"):
        files.load(tmp_path / "z.npz")
    (tmp_path / "m.pkl").write_bytes(b"cnot_a_module\nattr\n.")  # GLOBAL of a missing module
    with pytest.raises(ValueError, match="refers to not_a_module.attr"):
        files.load(tmp_path / "m.pkl")


def test_truncated_or_incomplete_folders(tmp_path, small):
    folder = tmp_path / "d"
    files.save(small, folder)
    _truncated(folder / "x.npy", 0.7)
    with pytest.raises(ValueError, match="'.*d' is not a readable MNIST-1D dataset"):
        files.load(folder)
    files.save(small, tmp_path / "e")
    os.unlink(tmp_path / "e" / "y_test.npy")
    with pytest.raises(ValueError, match="y_test.npy"):
        files.load(tmp_path / "e")


def test_a_folder_where_a_file_is_expected(tmp_path, capsys):
    os.mkdir(tmp_path / "d.pkl")
    with pytest.raises(ValueError,
                       match="d.pkl' is not a readable MNIST-1D dataset: it is a folder"):
        files.load(tmp_path / "d.pkl")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["info", str(tmp_path / "d.pkl")])
    assert exit_info.value.code == 2 and "it is a folder" in capsys.readouterr().err


def test_get_dataset_never_returns_a_dataset_of_other_arguments(tmp_path, small):
    path = tmp_path / "cache.pkl"
    mnist1d_jax.get_dataset(SMALL, path)
    other = mnist1d_jax.get_dataset_args(num_samples=100, seed=7)
    with pytest.raises(ValueError, match="other arguments \\(seed=42 instead of 7\\)"):
        mnist1d_jax.get_dataset(other, path)
    rebuilt = mnist1d_jax.get_dataset(other, path, regenerate=True)
    np.testing.assert_array_equal(rebuilt["x"], mnist1d_jax.reference_dataset(other)["x"])
    assert files.load(path)["args"]["seed"] == 7


def test_get_dataset_checks_files_without_recorded_arguments(tmp_path, small):
    path = tmp_path / "theirs.pkl"
    mnist1d.utils.to_pickle(small, path)  # no `args` key, as the reference writes
    np.testing.assert_array_equal(mnist1d_jax.get_dataset(SMALL, path)["x"], small["x"])
    with pytest.raises(ValueError, match="labels that are not those of seed 3"):
        mnist1d_jax.get_dataset(mnist1d_jax.get_dataset_args(num_samples=100, seed=3), path)
    with pytest.raises(ValueError, match=r"sizes \(train, test, positions\)"):
        mnist1d_jax.get_dataset(mnist1d_jax.get_dataset_args(num_samples=200), path)


# --- 3. writing never destroys what is not ours ----------------------------------------------

def _tree(path):
    return {os.path.relpath(os.path.join(root, name), path): open(os.path.join(root, name),
                                                                  "rb").read()
            for root, _, names in os.walk(path) for name in names}


def test_folders_and_files_that_are_not_datasets_are_never_replaced(tmp_path, small):
    source = tmp_path / "src"
    source.mkdir()
    (source / "main.py").write_text("print('precious')\n")
    (tmp_path / "notes").write_text("precious")
    (tmp_path / "notes.pkl").write_bytes(pickle.dumps({"mine": 1}))
    (tmp_path / "paper.npz").write_bytes(b"not a zip")
    (tmp_path / "picture.png").write_bytes(b"GIF89a")
    before = _tree(tmp_path)
    for target, message in ((source, "it has no readable mnist1d_jax.json"),
                            (tmp_path / "notes", "it is not a folder"),
                            (tmp_path / "notes.pkl", "it is not an MNIST-1D dataset .pkl file"),
                            (tmp_path / "paper.npz", "it is not an MNIST-1D dataset .npz file")):
        with pytest.raises(ValueError, match=f"refusing to replace '.*{target.name}': {message}"):
            files.save(small, target)
    with pytest.raises(ValueError, match="not a PNG file"):
        outputs.check_output(tmp_path / "picture.png", ".png")
    assert _tree(tmp_path) == before


def test_our_folder_with_a_user_file_added_is_not_replaced(tmp_path, small):
    files.save(small, tmp_path / "d")
    (tmp_path / "d" / "my_analysis.ipynb").write_text("{}")
    with pytest.raises(ValueError, match=r"holds files this package did not write: "
                                         r"\['my_analysis.ipynb'\]"):
        files.save(small, tmp_path / "d")
    assert (tmp_path / "d" / "my_analysis.ipynb").exists()


def test_symlinks_devices_and_fifos_are_never_replaced(tmp_path, small):
    files.save(small, tmp_path / "real.pkl")
    os.symlink(tmp_path / "real.pkl", tmp_path / "link.pkl")
    os.mkfifo(tmp_path / "fifo.npz")
    with pytest.raises(ValueError, match="symbolic link"):
        files.save(small, tmp_path / "link.pkl")
    with pytest.raises(ValueError, match="not a regular file"):
        files.save(small, tmp_path / "fifo.npz")
    with pytest.raises(ValueError, match="is not a folder"):
        outputs.check_output("/dev/null", "folder")
    assert os.path.islink(tmp_path / "link.pkl")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo.npz").st_mode)


@pytest.mark.parametrize("target", [".", "..", "/", "~", "./", "sub/.."])
def test_working_directory_parents_root_and_home_are_never_replaced(tmp_path, small,
                                                                    monkeypatch, target):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub" if target == ".." else tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "sub"))
    before = _tree(tmp_path)
    with pytest.raises(ValueError, match="refusing to write"):
        files.save(small, os.path.expanduser(target))
    assert _tree(tmp_path) == before


def test_cli_refuses_before_generating(tmp_path, monkeypatch, capsys):
    from mnist1d_jax import dataset

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dataset, "make_dataset", lambda *a, **k: pytest.fail("generated"))
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "a.py").write_text("x = 1\n")
    for out, message in (("code", "refusing to replace 'code'"),
                         (".", "refusing to write '.'"),
                         ("missing/d.pkl",
                          "cannot write 'missing/d.pkl': folder .* does not exist")):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["generate", "--out", out])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1, err
        assert __import__("re").search(message, err), err
    assert (tmp_path / "code" / "a.py").read_text() == "x = 1\n"


def test_unwritable_folder_is_found_before_generating(tmp_path, monkeypatch, capsys):
    from mnist1d_jax import dataset

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(tmp_path)
                        else real_access(p, mode))
    monkeypatch.setattr(dataset, "make_dataset", lambda *a, **k: pytest.fail("generated"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["generate", "--out", str(tmp_path / "d.pkl")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "is not writable" in err and "d.pkl" in err


def test_datasets_this_package_wrote_are_replaced(tmp_path, small):
    for name in ("d.pkl", "d.npz", "d"):
        files.save(small, tmp_path / name)
        changed = {**small, "x": small["x"] + 1}
        files.save(changed, tmp_path / name)
        np.testing.assert_array_equal(files.load(tmp_path / name)["x"], changed["x"])
    assert sorted(os.listdir(tmp_path)) == ["d", "d.npz", "d.pkl"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_permissions_follow_the_umask(tmp_path, small, umask):
    previous = os.umask(umask)
    try:
        for name in ("d.pkl", "d.npz", "d"):
            files.save(small, tmp_path / name)
    finally:
        os.umask(previous)
    file_mode, folder_mode = 0o666 & ~umask, 0o777 & ~umask
    assert stat.S_IMODE(os.stat(tmp_path / "d.pkl").st_mode) == file_mode
    assert stat.S_IMODE(os.stat(tmp_path / "d.npz").st_mode) == file_mode
    assert stat.S_IMODE(os.stat(tmp_path / "d").st_mode) == folder_mode
    for name in os.listdir(tmp_path / "d"):
        assert stat.S_IMODE(os.stat(tmp_path / "d" / name).st_mode) == file_mode, name


@pytest.mark.parametrize("name", ["d.pkl", "d.npz", "d"])
def test_a_full_disk_names_the_users_path_and_leaves_nothing(tmp_path, small, monkeypatch,
                                                             capsys, name):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/somewhere/.tmp")

    monkeypatch.setattr(pickle, "dump", full)
    monkeypatch.setattr(np, "savez", full)
    monkeypatch.setattr(np, "save", full)
    with pytest.raises(OSError) as info:
        files.save(small, tmp_path / name)
    assert str(tmp_path / name) in str(info.value) and outputs.TEMP_MARK not in str(info.value)
    assert "No space left on device" in str(info.value)
    assert os.listdir(tmp_path) == []
    if name == "d.pkl":  # the command line: one line, exit 1
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["generate", "--num-samples", "100", "--out", str(tmp_path / name)])
        err = capsys.readouterr().err
        assert exit_info.value.code == 1 and err.count("\n") == 1
        assert err.endswith(f"could not write {str(tmp_path / name)!r}: No space left on device\n")
