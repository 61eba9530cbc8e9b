"""The command line never drops a value: every flag given, 0 and the boundaries included, reaches
the arguments the generator gets; invalid values exit 2 with the API's message."""

import os

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mnist1d_jax
from mnist1d_jax import args as args_module
from mnist1d_jax import chunked, cli, dataset, files, reference


class Reached(Exception):
    """Raised by the patched generators with the arguments they were given."""


def _capture(monkeypatch):
    def record(*positional, **keywords):
        given = [v for v in positional if isinstance(v, mnist1d_jax.DatasetArgs)]
        raise Reached(given[0])

    for module, name in ((dataset, "make_dataset"), (reference, "reference_dataset"),
                         (chunked, "write_dataset")):
        monkeypatch.setattr(module, name, record)


# (flag, field, strategy of values given on the command line: valid, invalid, 0 and boundaries)
INT_FLAGS = [("--num-samples", "num_samples", st.integers(-5, 30) | st.just(2**31)),
             ("--template-len", "template_len", st.integers(-2, 5) | st.just(4097)),
             ("--max-translation", "max_translation", st.integers(-2, 5) | st.just(2**24 + 1)),
             ("--final-seq-length", "final_seq_length", st.integers(-2, 5) | st.just(4097)),
             ("--seed", "seed", st.integers(-2, 5) | st.just(2**32))]
FLOAT_FLAGS = [("--train-split", "train_split", st.sampled_from([0.0, 1.0, 0.5, -0.1, 0.05])),
               ("--scale-coeff", "scale_coeff", st.sampled_from([0.0, 1e-9, 2.5, 1e6, 1e39])),
               ("--corr-noise-scale", "corr_noise_scale", st.sampled_from([0.0, 0.7, -1.0])),
               ("--iid-noise-scale", "iid_noise_scale", st.sampled_from([0.0, 1e30, 3.0])),
               ("--shear-scale", "shear_scale", st.sampled_from([0.0, 1e-300, 1e6 + 1]))]


@st.composite
def command_lines(draw):
    """A random subset of dataset flags with values; returns (argv, overrides)."""
    argv, overrides = [], {}
    for flag, field, values in INT_FLAGS + FLOAT_FLAGS:
        if draw(st.booleans()):
            value = draw(values)
            argv += [flag, repr(value) if isinstance(value, float) else str(value)]
            overrides[field] = value
    if draw(st.booleans()):
        low, high = draw(st.integers(-1, 3)), draw(st.integers(-1, 4))
        argv += ["--padding", str(low), str(high)]
        overrides["padding"] = [low, high]  # as argparse gives it
    shuffle = draw(st.sampled_from([None, True, False]))
    if shuffle is not None:
        argv.append("--shuffle-seq" if shuffle else "--no-shuffle-seq")
        overrides["shuffle_seq"] = shuffle
    return argv, overrides


def _expected(overrides):
    try:
        return mnist1d_jax.get_dataset_args(**overrides), None
    except (TypeError, ValueError) as error:
        return None, str(error)


@pytest.mark.parametrize("command", [["generate", "--out", "d.pkl"],
                                     ["generate", "--reference", "--out", "d.pkl"],
                                     ["generate", "--out", "folder"],
                                     ["plot", "--out", "f.png"]])
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=command_lines())
def test_every_flag_value_reaches_the_generator(command, line, tmp_path, monkeypatch, capsys):
    argv, overrides = line
    monkeypatch.chdir(tmp_path)
    _capture(monkeypatch)
    expected, message = _expected(overrides)
    if expected is not None:
        with pytest.raises(Reached) as reached:
            cli.main(command + argv)
        assert reached.value.args[0] == expected  # every field, including 0 and False
    else:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(command + argv)
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.strip().endswith(message)
    assert os.listdir(tmp_path) == []


ZEROS = ["--seed", "0", "--iid-noise-scale", "0", "--shear-scale", "0", "--corr-noise-scale", "0",
         "--scale-coeff", "0", "--num-samples", "200"]


def test_zeros_reach_the_recorded_arguments_and_the_data(tmp_path):
    assert cli.main(["generate", "--out", str(tmp_path / "d.npz"), *ZEROS]) == 0
    written = files.load(tmp_path / "d.npz")
    args = mnist1d_jax.get_dataset_args(seed=0, iid_noise_scale=0.0, shear_scale=0.0,
                                        corr_noise_scale=0.0, scale_coeff=0.0, num_samples=200)
    assert written["args"] == args.as_dict()
    expected = mnist1d_jax.make_dataset(jax.random.key(0), args)
    np.testing.assert_array_equal(written["x"], expected["x"])
    np.testing.assert_array_equal(written["y"], expected["y"])


def test_zeros_reach_the_reference_replay(tmp_path):
    assert cli.main(["generate", "--reference", "--out", str(tmp_path / "d.pkl"), *ZEROS]) == 0
    args = mnist1d_jax.get_dataset_args(seed=0, iid_noise_scale=0.0, shear_scale=0.0,
                                        corr_noise_scale=0.0, scale_coeff=0.0, num_samples=200)
    np.testing.assert_array_equal(files.load(tmp_path / "d.pkl")["x"],
                                  mnist1d_jax.reference_dataset(args)["x"])


@pytest.mark.parametrize("flag", ["--num-samples", "--train-split", "--final-seq-length",
                                  "--template-len"])
def test_invalid_zeros_exit_2_and_write_nothing(tmp_path, capsys, flag):
    field = flag[2:].replace("-", "_")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["generate", "--out", str(tmp_path / "d.pkl"), flag, "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{field} must be" in err
    assert os.listdir(tmp_path) == []


def test_bounds_are_the_documented_constants():
    # the README's table of bounds restates these numbers; keep them in step
    assert (args_module.MAX_NUM_SAMPLES, args_module.MAX_TEMPLATE_LEN, args_module.MAX_PADDING,
            args_module.MAX_TRANSLATION, args_module.MAX_FINAL_SEQ_LENGTH,
            args_module.MAX_SCALE, args_module.MAX_DILATION_TABLE) == (
        2**31 - 1, 4096, 4096, 2**24, 4096, 1e6, 2**22)
