"""`mnist1d_jax.compat` runs code written for the reference package after changing its import
line, with the reference's outputs (compared with the installed `mnist1d` package itself)."""

import inspect
import os
import pickle
import random
import subprocess
import sys

import mnist1d
import mnist1d.data
import mnist1d.utils
import numpy as np
import pytest
from conftest import max_abs_diff

import mnist1d_jax
import mnist1d_jax.compat as compat

KEYS = ("x", "x_test", "y", "y_test", "t")


def assert_same_dataset(ours, theirs):
    for key in KEYS:
        assert np.asarray(ours[key]).shape == np.asarray(theirs[key]).shape, key
        assert max_abs_diff(ours[key], theirs[key]) <= 1e-12, key
    for key in ("y", "y_test"):
        assert ours[key].dtype == theirs[key].dtype == np.int64
        np.testing.assert_array_equal(ours[key], theirs[key])


def test_every_name_has_the_reference_signature():
    for module, theirs in ((compat, mnist1d), (compat.data, mnist1d.data),
                           (compat.utils, mnist1d.utils),
                           (sys.modules["mnist1d_jax.compat.transform"],
                            sys.modules["mnist1d.transform"])):
        for name in ("get_dataset_args", "make_dataset", "get_dataset", "get_templates",
                     "set_seed", "to_pickle", "from_pickle", "ObjectView", "plot_signals",
                     "transform"):
            if hasattr(theirs, name):
                assert hasattr(module, name), f"{module.__name__}.{name}"
                if inspect.isfunction(getattr(theirs, name)):
                    assert (list(inspect.signature(getattr(module, name)).parameters)
                            == list(inspect.signature(getattr(theirs, name)).parameters)), name


@pytest.mark.slow
def test_default_arguments_and_dataset_equal_the_reference():
    ours, theirs = compat.data.get_dataset_args(), mnist1d.data.get_dataset_args()
    assert vars(ours) == vars(theirs)
    assert compat.data.get_dataset_args(as_dict=True) == mnist1d.data.get_dataset_args(as_dict=True)
    assert_same_dataset(compat.data.make_dataset(), mnist1d.data.make_dataset())


def test_notebook_style_attribute_assignment():
    """As the reference's and the textbook's notebooks write it."""
    def configure(mnist1d_module):
        args = mnist1d_module.data.get_dataset_args()
        args.num_samples = 1_200
        args.train_split = 0.5
        args.shuffle_seq = True
        args.final_seq_length = 30
        args.seed = 7
        return args

    ours = compat.data.make_dataset(configure(compat))
    theirs = mnist1d.data.make_dataset(configure(mnist1d))
    assert ours["x"].shape == (600, 30)
    assert_same_dataset(ours, theirs)


def test_make_dataset_with_other_templates():
    templates = mnist1d.data.get_templates()
    templates["x"] = templates["x"][::-1].copy()
    args = mnist1d.data.get_dataset_args()
    args.num_samples = 300
    assert_same_dataset(compat.data.make_dataset(args, template=templates),
                        mnist1d.data.make_dataset(args, template=templates))
    with pytest.raises(ValueError, match=r"template\['t'\] must be \(5,\) finite numbers"):
        compat.data.make_dataset(args, template={**templates, "x": templates["x"][:, :5]})
    with pytest.raises(ValueError, match="template for the reference's recipe must be 10"):
        compat.data.make_dataset(args, template=np.tile(templates["x"], (2, 1)))


def test_make_dataset_with_templates_of_another_length_is_the_references():
    """The reference's recipe takes templates of any number of points (its `template_len` only
    sets the dilated length): 16-point shapes give its dataset."""
    shapes = np.random.default_rng(3).normal(size=(10, 16))
    templates = {**mnist1d_jax.make_templates(shapes)}
    args = mnist1d.data.get_dataset_args()
    args.num_samples = 200
    assert_same_dataset(compat.data.make_dataset(args, template=templates),
                        mnist1d.data.make_dataset(args, template=templates))


def _then(call):
    """`call()` from an unrelated global random state, and the next draws of Python's `random`
    and NumPy's global generator after it."""
    random.seed(123)
    np.random.seed(321)
    result = call()
    return result, (random.random(), np.random.rand(), np.random.permutation(10).tolist())


def _arguments(module, how):
    args = module.data.get_dataset_args()
    if how == "assigned":  # as notebooks write it
        args.num_samples, args.seed, args.shuffle_seq = 600, 9, True
    return args


@pytest.fixture
def offline_reference(monkeypatch):
    """The reference's `get_dataset` with its download failing, as it does without network."""
    import requests

    def refuse(*args, **kwargs):
        raise requests.ConnectionError("no network in tests")

    monkeypatch.setattr(mnist1d.data.requests, "get", refuse)


@pytest.mark.parametrize("entry, how", [("make_dataset", "default"), ("make_dataset", "assigned"),
                                        ("regenerate", "default"), ("regenerate", "assigned"),
                                        ("download", "default")])  # download: the published data
@pytest.mark.slow
def test_global_random_state_after_a_build_is_the_references(tmp_path, how, entry,
                                                             offline_reference, capsys):
    def build(module, folder):
        args = _arguments(module, how)
        if entry == "make_dataset":
            return module.data.make_dataset(args)
        path = str(folder / "data.pkl")
        return module.data.get_dataset(args, path=path, download=entry == "download",
                                       regenerate=entry == "regenerate")

    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    ours, after_ours = _then(lambda: build(compat, tmp_path / "ours"))
    theirs, after_theirs = _then(lambda: build(mnist1d, tmp_path / "theirs"))
    assert_same_dataset(ours, theirs)
    assert after_ours == after_theirs


def test_the_core_api_leaves_global_random_state_alone():
    import mnist1d_jax

    _, untouched = _then(lambda: None)
    assert _then(lambda: mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(
        num_samples=200)))[1] == untouched
    assert _then(lambda: mnist1d_jax.make_dataset(None, mnist1d_jax.get_dataset_args(
        num_samples=200)))[1] == untouched


def _edit_in_place(data):
    data["x"] -= data["x"].mean()
    data["x_test"][0, 0] = 0.0
    data["y"][0] = 3
    data["y_test"][:2] = 1
    data["t"] *= 2
    for key in ("x", "t", "y"):
        data["templates"][key][0] = 0


def test_every_array_is_writable_with_the_references_dtype(tmp_path):
    args = compat.data.get_dataset_args()
    args.num_samples = 200
    path = str(tmp_path / "d.pkl")
    theirs = mnist1d.data.make_dataset(args)
    for name, data in (("make_dataset", compat.data.make_dataset(args)),
                       ("get_dataset builds", compat.data.get_dataset(args, path, False, False)),
                       ("get_dataset loads", compat.data.get_dataset(args, path, False, False)),
                       ("get_templates", {"templates": compat.data.get_templates()})):
        for key, value in data.items():
            arrays = value.items() if isinstance(value, dict) else [(key, value)]
            for sub, array in arrays:
                expected = theirs[key][sub] if isinstance(value, dict) else theirs[key]
                assert isinstance(array, np.ndarray) and array.dtype == expected.dtype, \
                    (name, key, sub)
        if "x" in data:
            _edit_in_place(data)
            assert data["y"][0] == 3 and np.allclose(data["t"], 2 * theirs["t"]), name


@pytest.mark.slow
def test_transform_draws_from_the_global_state_as_the_reference():
    templates = mnist1d.data.get_templates()
    args = mnist1d.data.get_dataset_args()
    compat.utils.set_seed(5)
    ours = [compat.transform(templates["x"][i], templates["t"], args) for i in (3, 8)]
    mnist1d.utils.set_seed(5)
    theirs = [mnist1d.transform(templates["x"][i], templates["t"], args) for i in (3, 8)]
    for (x, t), (x_ref, t_ref) in zip(ours, theirs):
        assert max_abs_diff(x, x_ref) <= 1e-12 and max_abs_diff(t, t_ref) <= 1e-12


def test_get_dataset_builds_saves_and_reloads_without_network(tmp_path, capsys, reference_pickle,
                                                              monkeypatch):
    import socket
    monkeypatch.setattr(socket, "socket", lambda *a, **k: pytest.fail("network touched"))
    args = compat.data.get_dataset_args()
    args.num_samples = 400
    path = str(tmp_path / "mine.pkl")
    built = compat.data.get_dataset(args, path=path, download=False)
    assert "Rebuilding dataset" in capsys.readouterr().out
    assert_same_dataset(built, mnist1d.data.make_dataset(args))
    with open(path, "rb") as handle:  # the reference reads our file (our own file: plain load)
        assert_same_dataset(pickle.load(handle), built)
    again = compat.data.get_dataset(args, path=path, download=False)
    assert "Successfully loaded" in capsys.readouterr().out
    assert_same_dataset(again, built)

    published = str(tmp_path / "mnist1d_data.pkl")  # download=True: the published file, rebuilt
    data = compat.data.get_dataset(args, path=published, download=True)
    assert "no download" in capsys.readouterr().out
    assert_same_dataset(data, reference_pickle)
    assert_same_dataset(compat.data.get_dataset(args, path=published), reference_pickle)
    assert "Skipping download" in capsys.readouterr().out

    regenerated = compat.data.get_dataset(args, path=published, download=False, regenerate=True)
    assert regenerated["x"].shape == (320, 40)
    with pytest.raises(ValueError, match="not both"):
        compat.data.get_dataset(args, path=published, download=True, regenerate=True)


def test_get_dataset_default_path_is_the_reference_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = compat.data.get_dataset_args()
    args.num_samples = 100
    compat.data.get_dataset(args, verbose=False, download=False)
    assert os.listdir(tmp_path) == ["mnist1d_data.pkl"]


READ_BACK = [  # what to_pickle writes and from_pickle must read back equal
    {"x": np.arange(6.0).reshape(2, 3), "y": np.arange(2), "name": "a", "t": (1, 2.5, None)},
    [1, {2, 3}, frozenset({4}), complex(1, 2), range(0, 5, 2), bytearray(b"ab"), slice(1, 5, 2),
     b"bytes", np.float32(1.5), np.int64(7), np.bool_(True), np.array(["a", "bc"])],
    compat.utils.ObjectView({"num_samples": 10, "padding": [36, 60], "seed": 42}),
    {"args": compat.data.get_dataset_args(), "nested": [compat.data.get_dataset_args()]},
]


def _same(a, b) -> bool:
    if isinstance(a, compat.utils.ObjectView):
        return type(b) is type(a) and _same(a.__dict__, b.__dict__)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("value", READ_BACK)
def test_from_pickle_reads_back_what_to_pickle_writes(tmp_path, value):
    compat.utils.to_pickle(value, tmp_path / "v.pkl")
    assert _same(value, compat.utils.from_pickle(tmp_path / "v.pkl"))


class _Unreadable:
    pass


@pytest.mark.parametrize("value", [_Unreadable(), [len], {"f": lambda: 0},
                                   np.array([object()]), __import__("jax").numpy.ones(2)])
def test_to_pickle_refuses_what_from_pickle_would_not_read_and_writes_nothing(tmp_path, value):
    with pytest.raises(ValueError, match="to_pickle writes only what from_pickle reads back"):
        compat.utils.to_pickle(value, tmp_path / "v.pkl")
    assert os.listdir(tmp_path) == []


def test_the_references_pickle_of_its_arguments_reads_as_an_object_view(tmp_path):
    with open(tmp_path / "args.pkl", "wb") as handle:  # the real package's to_pickle
        pickle.dump(mnist1d.data.get_dataset_args(), handle, protocol=3)
    args = compat.utils.from_pickle(tmp_path / "args.pkl")
    assert isinstance(args, compat.utils.ObjectView)
    assert args.__dict__ == mnist1d.data.get_dataset_args().__dict__


def test_install_works_after_the_package_is_reloaded():
    script = """
import importlib, sys, types
import mnist1d_jax
import mnist1d_jax.compat as compat
importlib.reload(compat)
compat.install()
from mnist1d.transform import transform
assert isinstance(sys.modules["mnist1d.transform"], types.ModuleType)
assert transform is compat.transform
compat = importlib.reload(compat)
compat.install()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_pickles_are_read_safely_and_foreign_files_never_replaced(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "pwned"),))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"x": Payload()}, protocol=3))
    with pytest.raises(ValueError):
        compat.utils.from_pickle(evil)
    with pytest.raises(ValueError):
        compat.data.get_dataset(None, path=str(evil), verbose=False)
    assert not (tmp_path / "pwned").exists()

    foreign = tmp_path / "notes.pkl"
    foreign.write_bytes(pickle.dumps({"mine": [1, 2, 3]}, protocol=3))
    with pytest.raises(ValueError, match="refusing to replace"):
        compat.utils.to_pickle({"other": 1}, foreign)
    assert compat.utils.from_pickle(foreign) == {"mine": [1, 2, 3]}

    data_file = tmp_path / "data.pkl"
    compat.utils.to_pickle({"numbers": np.arange(3.0), "name": "a"}, data_file)
    loaded = compat.utils.from_pickle(data_file)
    np.testing.assert_array_equal(loaded["numbers"], np.arange(3.0))
    assert mnist1d.utils.from_pickle(str(data_file))["name"] == "a"
    assert oct(data_file.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_plot_signals_draws_ten_signals(monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    monkeypatch.setattr(plt, "show", lambda: None)
    data = compat.data.make_dataset()
    fig = compat.utils.plot_signals(data["x"], data["t"], labels=data["y"])
    assert len(fig.axes) == 10 and fig.axes[0].get_title() == f"label={data['y'][0]}"
    templates = compat.data.get_templates()
    fig = compat.utils.plot_signals(templates["x"], templates["t"],
                                    args=compat.data.get_dataset_args(), do_transform=True)
    assert len(fig.axes[3].lines[0].get_xdata()) == 40
    plt.close("all")


NOTEBOOK = '''
import sys
mode, out, work = sys.argv[1:4]
if mode == "install":  # the reference package hidden: any import of it by a finder fails
    class Hidden:
        def find_spec(self, name, path=None, target=None):
            if name == "mnist1d" or name.startswith("mnist1d."):
                raise ModuleNotFoundError(f"No module named {name!r} (hidden)")
    sys.meta_path.insert(0, Hidden())
    import mnist1d_jax.compat
    mnist1d_jax.compat.install()

# --- a notebook written for the reference, unchanged from here ---
import os
import random
import subprocess
import numpy as np
import mnist1d
import mnist1d.data
from mnist1d.data import get_dataset, get_dataset_args
from mnist1d.utils import set_seed, to_pickle, from_pickle
from mnist1d.transform import transform

args = get_dataset_args()
args.num_samples = 1000
args.seed = 11
args.shuffle_seq = True
data = get_dataset(args, path=os.path.join(work, "mnist1d_data.pkl"), download=False)
for i in range(len(data["y"])):  # label noise from Python's random, right after loading
    if random.random() < 0.15:
        data["y"][i] = random.randint(0, 9)
data["x"] -= data["x"].mean(0)
order = np.random.permutation(len(data["y"]))
again = mnist1d.data.make_dataset(args)
set_seed(3)
augmented, _ = transform(data["templates"]["x"][3], data["templates"]["t"], args)
to_pickle({"accuracy": [0.5, 0.75], "order": order[:5]}, os.path.join(work, "results.pkl"))
results = from_pickle(os.path.join(work, "results.pkl"))
np.savez(out, x=data["x"], y=data["y"], x_test=data["x_test"], y_test=data["y_test"],
         t=data["t"], order=order, again=again["x"], augmented=augmented,
         accuracy=results["accuracy"], next=[random.random(), np.random.rand()],
         module=[mnist1d.__name__])
'''


@pytest.mark.slow
def test_unmodified_reference_code_runs_after_install_with_the_references_results(tmp_path):
    runs = {}
    for mode in ("reference", "install"):
        work = tmp_path / mode
        work.mkdir()
        done = subprocess.run([sys.executable, "-c", NOTEBOOK, mode, str(work / "out.npz"),
                               str(work)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[mode] = dict(np.load(work / "out.npz"))
    ours, theirs = runs["install"], runs["reference"]
    assert ours["module"][0] == "mnist1d_jax.compat" and theirs["module"][0] == "mnist1d"
    for key in ("x", "x_test", "t", "again", "augmented"):
        assert max_abs_diff(ours[key], theirs[key]) <= 1e-12, key
    for key in ("y", "y_test", "order", "accuracy", "next"):
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    assert (ours["y"] != mnist1d.data.make_dataset(_notebook_args())["y"]).any()  # noise applied


def _notebook_args():
    args = mnist1d.data.get_dataset_args()
    args.num_samples, args.seed, args.shuffle_seq = 1000, 11, True
    return args


def test_install_is_harmless_twice_and_refuses_when_the_real_package_is_imported():
    script = """
import mnist1d_jax
import mnist1d_jax.compat as compat
compat.install(); compat.install()
import mnist1d
assert mnist1d is compat
"""
    assert subprocess.run([sys.executable, "-c", script], timeout=120).returncode == 0
    with pytest.raises(RuntimeError, match="the real mnist1d is already imported"):
        compat.install()  # this test module imported the real package
    assert sys.modules["mnist1d"] is mnist1d
