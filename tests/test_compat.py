"""`mnist1d_jax.compat` runs code written for the reference package after changing its import
line, with the reference's outputs (compared with the installed `mnist1d` package itself)."""

import inspect
import os
import pickle

import sys

import mnist1d
import mnist1d.data
import mnist1d.utils
import numpy as np
import pytest
from conftest import max_abs_diff

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


def test_make_dataset_with_other_templates_and_no_global_random_state_change():
    templates = mnist1d.data.get_templates()
    templates["x"] = templates["x"][::-1].copy()
    args = mnist1d.data.get_dataset_args()
    args.num_samples = 300
    before = np.random.get_state()[1].copy()
    ours = compat.data.make_dataset(args, template=templates)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    assert_same_dataset(ours, mnist1d.data.make_dataset(args, template=templates))
    with pytest.raises(ValueError, match=r"template\['x'\] must be \(10, 12\)"):
        compat.data.make_dataset(args, template={**templates, "x": templates["x"][:, :5]})


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
