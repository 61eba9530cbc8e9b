"""MNIST-1D as a family: your own templates and class counts, a chosen normalisation, label noise,
a traced max_translation, on the JAX path."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import Compilations

import mnist1d_jax
from mnist1d_jax import files
from mnist1d_jax.cli import main

SMALL = mnist1d_jax.get_dataset_args(num_samples=400)
RNG = np.random.default_rng(7)
SHAPES = {(c, t): RNG.normal(size=(c, t)) for c in (2, 10, 20) for t in (8, 12, 16)}


def _raw(key, args, templates=None, **options):
    return mnist1d_jax.make_dataset(key, args, templates=templates, normalize="none", **options)


# ------------------------------------------------------------------ templates as data

@pytest.mark.parametrize("classes, points", [(2, 8), (10, 12), (20, 16), (20, 8), (2, 16)])
def test_any_number_of_classes_and_points_makes_a_balanced_dataset(classes, points):
    templates = mnist1d_jax.make_templates(SHAPES[classes, points])
    args = SMALL.replace(num_samples=41 * classes + 1)  # 41 per class, one left over
    data = mnist1d_jax.make_dataset(jax.random.key(0), args, templates=templates)
    labels = np.concatenate([data["y"], data["y_test"]])
    assert np.array_equal(np.bincount(labels, minlength=classes), [41] * classes)
    assert data["x"].shape == (int(41 * classes * 0.8), 40) and data["t"].shape == (40,)
    assert data["templates"]["x"].shape == (classes, points)
    np.testing.assert_array_equal(data["templates"]["y"], np.arange(classes))
    x = np.concatenate([data["x"], data["x_test"]])
    assert abs(x.mean()) < 1e-5 and abs(x.std() - 1) < 1e-4


def test_the_reference_templates_given_explicitly_are_the_default_bits():
    key = jax.random.key(3)
    default = mnist1d_jax.make_dataset(key, SMALL)
    for given in (mnist1d_jax.get_templates(), mnist1d_jax.get_templates()["x"],
                  {"x": mnist1d_jax.get_templates()["x"]}):
        data = mnist1d_jax.make_dataset(key, SMALL, templates=given)
        for name in ("x", "x_test", "y", "y_test", "t"):
            np.testing.assert_array_equal(data[name], default[name])


@pytest.mark.slow
def test_a_template_set_changes_the_signals_and_not_the_draws():
    key = jax.random.key(1)
    mine = mnist1d_jax.make_templates(SHAPES[10, 12])
    a = mnist1d_jax.make_dataset(key, SMALL, with_draws=True)
    b = mnist1d_jax.make_dataset(key, SMALL, templates=mine, with_draws=True)
    np.testing.assert_array_equal(a["y"], b["y"])
    jax.tree.map(np.testing.assert_array_equal, a["draws"], b["draws"])
    assert np.abs(np.asarray(a["x"]) - np.asarray(b["x"])).max() > 0.5
    # an example is its template pushed through the transform with its draws
    i = 5
    draws = jax.tree.map(lambda v: v[i], b["draws"])
    raw = _raw(key, SMALL, mine)
    expected = mnist1d_jax.transform(draws, jnp.asarray(mine["x"][int(b["y"][i])], jnp.float32),
                                     SMALL)
    np.testing.assert_allclose(raw["x"][i], expected, atol=1e-5)


def test_make_templates_is_the_references_recipe():
    shapes = SHAPES[20, 16]
    made = mnist1d_jax.make_templates(shapes)
    x = made["x"]
    assert np.all(x[:, 0] == 0) and np.allclose(x.std(1), 1 / 6)
    # invariant to the shapes' offset and positive scale, as centring and dividing by the std are
    np.testing.assert_allclose(mnist1d_jax.make_templates(3 * shapes + 5)["x"], x, atol=1e-12)
    np.testing.assert_allclose(made["t"], np.linspace(-5, 5, 16) / 6)
    import mnist1d.data  # the reference's own ten are this recipe of its digit shapes

    np.testing.assert_allclose(mnist1d_jax.get_templates()["x"],
                               mnist1d.data.get_templates()["x"], rtol=0, atol=1e-15)


BAD_TEMPLATES = [
    (np.zeros((1, 12)), "2 to 1024 classes"),
    (np.zeros((1025, 12)), "got shape \\(1025, 12\\)"),
    (np.zeros((10, 1)), "2 to 1024 points"),
    (np.zeros((10, 12, 1)), "got shape \\(10, 12, 1\\)"),
    (np.full((10, 12), np.nan), "not finite"),
    (np.array([["a"] * 12] * 10), "dtype <U1"),
    ({"x": np.zeros((10, 12)), "t": np.zeros(5)}, "templates\\['t'\\] must be \\(12,\\)"),
    ({"x": np.zeros((10, 12)), "y": np.arange(1, 11)}, "templates\\['y'\\] must be the classes"),
    ({"x": np.zeros((10, 12)), "z": 1}, "got keys \\['x', 'z'\\]"),
    ({"t": np.zeros(12)}, "must be a dict with 'x'"),
    ("digits.npy", "load_templates"),
]


@pytest.mark.parametrize("templates, message", BAD_TEMPLATES, ids=lambda v: str(v)[:30])
def test_bad_templates_are_refused_in_one_line_before_tracing(monkeypatch, templates, message):
    traced = []
    monkeypatch.setattr(jax.random, "split", lambda *a: traced.append(1))
    for call in (lambda: mnist1d_jax.make_dataset(jax.random.key(0), SMALL, templates=templates),
                 lambda: mnist1d_jax.sample_batch(jax.random.key(0), SMALL, 8,
                                                  templates=templates)):
        with pytest.raises((TypeError, ValueError), match=message) as error:
            call()
        assert "\n" not in str(error.value)
    assert traced == []


def test_make_templates_refuses_a_constant_shape():
    with pytest.raises(ValueError, match="shapes row 1 is constant"):
        mnist1d_jax.make_templates(np.stack([np.arange(5.0), np.ones(5)]))


def test_class_counts_beyond_the_dilation_table_are_refused():
    with pytest.raises(ValueError, match="needs a table of 1000 classes x 101 paddings"):
        mnist1d_jax.make_dataset(None, SMALL.replace(num_samples=5000, padding=(0, 100),
                                                     template_len=2),
                                 templates=np.eye(1000, 4))


@pytest.mark.slow
def test_a_dataset_is_differentiable_with_respect_to_its_templates():
    """Against central finite differences in float64: d(sum(w * x)) / d(template[c, j])."""
    args = SMALL.replace(num_samples=60)
    key = jax.random.key(2)
    weights = np.random.default_rng(0).normal(size=(48, 40))
    shapes = mnist1d_jax.make_templates(SHAPES[10, 12])["x"]

    with jax.enable_x64(True):
        def objective(x):
            data = mnist1d_jax.make_dataset(key, args, templates={"x": x}, dtype=jnp.float64,
                                            normalize="population")
            return jnp.sum(jnp.asarray(weights) * data["x"])

        grad = np.asarray(jax.grad(objective)(jnp.asarray(shapes)))
        step = 1e-5
        for c, j in ((0, 3), (4, 7), (9, 11)):
            bump = np.zeros_like(shapes)
            bump[c, j] = step
            numeric = (objective(jnp.asarray(shapes + bump))
                       - objective(jnp.asarray(shapes - bump))) / (2 * step)
            np.testing.assert_allclose(grad[c, j], float(numeric), rtol=1e-6, atol=1e-8)
    assert np.abs(grad).max() > 0.1


@pytest.mark.slow
def test_template_sets_vmap_in_one_call_equal_to_separate_calls():
    key = jax.random.key(4)
    sets = jnp.asarray(np.stack([mnist1d_jax.make_templates(SHAPES[10, 16] + i)["x"]
                                 for i in range(3)]) * np.array([1.0, 0.5, 2.0])[:, None, None],
                       jnp.float32)

    def x_of(templates):
        return mnist1d_jax.make_dataset(key, SMALL, templates={"x": templates})["x"]

    together = jax.jit(jax.vmap(x_of))(sets)
    one = jax.jit(x_of)
    for i in range(3):
        np.testing.assert_array_equal(together[i], one(sets[i]))
    # traced templates are dilated in float32 on the device, concrete ones in float64
    np.testing.assert_allclose(together[1], mnist1d_jax.make_dataset(
        key, SMALL, templates=np.asarray(sets[1], np.float64))["x"], atol=2e-5)


@pytest.mark.slow
def test_streams_and_rows_take_templates():
    mine = mnist1d_jax.make_templates(SHAPES[20, 8])
    key = jax.random.key(5)
    batch = mnist1d_jax.sample_batch(key, SMALL, 4000, templates=mine)
    counts = np.bincount(np.asarray(batch["y"]), minlength=20)
    assert len(counts) == 20 and counts.min() > 120  # uniform over 20 classes (200 expected)
    rows = mnist1d_jax.sample_rows(key, SMALL, [3, 999, 0], templates=mine)
    np.testing.assert_array_equal(rows["x"], np.asarray(batch["x"])[[3, 999, 0]])
    x = np.asarray(batch["x"])
    assert abs(x.mean()) < 0.03 and abs(x.std() - 1) < 0.03  # the population statistics


# ------------------------------------------------------------------ normalisation

@pytest.mark.slow
def test_each_normalisation_is_the_raw_signals_shifted_and_scaled():
    key = jax.random.key(6)
    raw = _raw(key, SMALL)
    values = np.concatenate([raw["x"], raw["x_test"]]).astype(np.float64)
    own = mnist1d_jax.make_dataset(key, SMALL)
    np.testing.assert_allclose(own["x"], (raw["x"] - values.mean()) / values.std(), atol=1e-5)
    np.testing.assert_allclose(own["t"], raw["t"] / values.std(), rtol=1e-5)
    mean, std = mnist1d_jax.population_statistics(SMALL)
    population = mnist1d_jax.make_dataset(key, SMALL, normalize="population")
    np.testing.assert_allclose(population["x"], (raw["x"] - mean) / std, atol=1e-5)
    np.testing.assert_allclose(population["t"], raw["t"] / std, rtol=1e-6)
    # the raw signals are the transform of the draws: nothing normalised them
    drawn = _raw(key, SMALL, with_draws=True)
    draws = jax.tree.map(lambda v: v[0], drawn["draws"])
    template = mnist1d_jax.get_templates()["x"][int(drawn["y"][0])]
    np.testing.assert_allclose(drawn["x"][0], mnist1d_jax.transform(
        draws, jnp.asarray(template, jnp.float32), SMALL), atol=1e-6)


@pytest.mark.slow
def test_an_out_of_distribution_set_is_normalised_as_its_training_distribution():
    key = jax.random.key(8)
    sheared = SMALL.replace(shear_scale=3.0)
    raw = _raw(key, sheared)
    mean, std = mnist1d_jax.population_statistics(SMALL)
    expected = (np.asarray(raw["x_test"]) - float(mean)) / float(std)
    for normalize in (SMALL, mnist1d_jax.Statistics(mean, std), (float(mean), float(std))):
        data = mnist1d_jax.make_dataset(key, sheared, normalize=normalize)
        np.testing.assert_allclose(data["x_test"], expected, atol=1e-5)
    own = mnist1d_jax.make_dataset(key, sheared)
    assert np.abs(np.asarray(own["x_test"]) - expected).max() > 0.1  # its own scale differs


@pytest.mark.parametrize("normalize, error, message", [
    ("batch", ValueError, "normalize must be one of 'dataset', 'population', 'none'"),
    ((0.0, -1.0), ValueError, "normalize's std must be a finite number >= 0"),
    ((np.nan, 1.0), ValueError, "normalize's mean must be a finite number"),
    (3, TypeError, "normalize must be one of"),
])
def test_bad_normalisations_are_refused(normalize, error, message):
    with pytest.raises(error, match=message):
        mnist1d_jax.make_dataset(None, SMALL, normalize=normalize)


def test_a_stream_normalises_by_the_population_or_not_at_all():
    key = jax.random.key(9)
    raw = mnist1d_jax.sample_batch(key, SMALL, 64, normalize="none")
    mean, std = mnist1d_jax.population_statistics(SMALL)
    batch = mnist1d_jax.sample_batch(key, SMALL, 64)
    np.testing.assert_allclose(batch["x"], (raw["x"] - mean) / std, atol=1e-5)
    with pytest.raises(ValueError, match="normalize must be one of 'population', 'none'"):
        mnist1d_jax.sample_batch(key, SMALL, 64, normalize="dataset")


# ------------------------------------------------------------------ label noise

@pytest.mark.slow
@pytest.mark.parametrize("classes", [10, 20])
def test_label_noise_replaces_training_labels_by_keyed_uniform_classes(classes):
    templates = mnist1d_jax.make_templates(SHAPES[classes, 12])
    args = SMALL.replace(num_samples=20_000)
    key = jax.random.key(10)
    clean = mnist1d_jax.make_dataset(key, args, templates=templates)
    noisy = mnist1d_jax.make_dataset(key, args.replace(label_noise=0.3), templates=templates)
    changed = np.asarray(noisy["y"]) != np.asarray(clean["y"])
    np.testing.assert_array_equal(changed, noisy["noisy"])
    expected = 0.3 * (1 - 1 / classes) * len(changed)  # a replacement may draw its own class
    assert abs(changed.sum() - expected) < 4 * np.sqrt(expected)
    np.testing.assert_array_equal(noisy["x"], clean["x"])  # the signals are untouched
    np.testing.assert_array_equal(noisy["y_test"], clean["y_test"])  # the test set is clean
    assert not np.asarray(noisy["noisy_test"]).any()
    replaced = np.asarray(noisy["y"])[changed]
    assert np.bincount(replaced, minlength=classes).min() > 0.5 * changed.sum() / classes
    again = mnist1d_jax.make_dataset(key, args.replace(label_noise=0.3), templates=templates)
    np.testing.assert_array_equal(again["y"], noisy["y"])
    both = mnist1d_jax.make_dataset(key, args.replace(label_noise=0.3, test_label_noise=1.0),
                                    templates=templates)
    np.testing.assert_array_equal(both["y"], noisy["y"])
    assert np.mean(np.asarray(both["y_test"]) != np.asarray(clean["y_test"])) > 0.8
    assert "noisy" not in clean


@pytest.mark.slow
def test_label_noise_in_a_stream_is_traced_and_vmaps_over_fractions():
    key = jax.random.key(11)
    clean = mnist1d_jax.sample_batch(key, SMALL, 5000)

    @jax.jit
    def labels(fraction):
        return mnist1d_jax.sample_batch(key, SMALL.replace(label_noise=fraction), 5000)["y"]

    swept = jax.vmap(labels)(jnp.asarray([0.0, 0.5, 1.0]))
    changed = np.mean(np.asarray(swept) != np.asarray(clean["y"])[None], axis=1)
    assert changed[0] == 0 and abs(changed[1] - 0.45) < 0.03 and abs(changed[2] - 0.9) < 0.03
    single = mnist1d_jax.sample_batch(key, SMALL.replace(label_noise=0.5), 5000)
    np.testing.assert_array_equal(swept[1], single["y"])
    np.testing.assert_array_equal(single["x"], clean["x"])


def test_the_reference_replay_has_no_label_noise():
    with pytest.raises(ValueError, match="label_noise and test_label_noise must be 0"):
        mnist1d_jax.reference_dataset(SMALL.replace(label_noise=0.1))


# ------------------------------------------------------------------ max_translation traced

def test_max_translation_is_traced_vmaps_and_does_not_recompile():
    key = jax.random.key(12)
    with Compilations() as counted:
        for shift in (5, 20, 48):
            mnist1d_jax.make_dataset(key, SMALL.replace(max_translation=shift))
    assert counted["_generate"] <= 1

    def x_of(shift):
        return mnist1d_jax.make_dataset(key, SMALL.replace(max_translation=shift),
                                        normalize="population")["x"]

    shifts = jnp.asarray([1, 30, 200])
    together = jax.jit(jax.vmap(x_of))(shifts)
    for i, shift in enumerate((1, 30, 200)):
        np.testing.assert_array_equal(together[i], mnist1d_jax.make_dataset(
            key, SMALL.replace(max_translation=shift), normalize="population")["x"])
    with pytest.raises(TypeError, match="max_translation must be an integer scalar"):
        jax.jit(lambda m: mnist1d_jax.make_dataset(key, SMALL.replace(max_translation=m)))(2.5)


# ------------------------------------------------------------------ files, CLI, lab

def test_a_twenty_class_dataset_round_trips_through_every_format(tmp_path, capsys):
    templates = mnist1d_jax.make_templates(SHAPES[20, 16])
    args = SMALL.replace(label_noise=0.2)
    data = mnist1d_jax.make_dataset(jax.random.key(13), args, templates=templates)
    for name in ("d.pkl", "d.npz", "d"):
        mnist1d_jax.save(data, tmp_path / name, args)
        back = mnist1d_jax.load(tmp_path / name)
        np.testing.assert_array_equal(back["y"], data["y"])
        np.testing.assert_array_equal(back["templates"]["x"], np.asarray(templates["x"],
                                                                         np.float32))
        assert back["args"]["label_noise"] == 0.2
    assert main(["info", str(tmp_path / "d.npz")]) == 0
    out = capsys.readouterr().out
    assert "templates: 20 classes of 16 points" in out and "label_noise=0.2" in out
    counts = out.split("class counts ")[1].split("]")[0]
    assert len(counts.split(",")) == 20


@pytest.mark.slow
def test_the_command_line_generates_from_a_template_file(tmp_path, capsys):
    shapes = tmp_path / "shapes.npy"
    np.save(shapes, mnist1d_jax.make_templates(SHAPES[2, 8])["x"])
    out = tmp_path / "two.npz"
    assert main(["generate", "--templates", str(shapes), "--num-samples", "500",
                 "--label-noise", "0.5", "--normalize", "none", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "label noise: " in printed and "training labels changed" in printed
    data = files.load(out)
    assert data["templates"]["x"].shape == (2, 8) and set(np.unique(data["y"])) == {0, 1}
    assert data["normalize"] == "none" and "normalised: none" in printed
    expected = _raw(jax.random.key(42), SMALL.replace(num_samples=500, label_noise=0.5),
                    mnist1d_jax.make_templates(SHAPES[2, 8]))
    np.testing.assert_allclose(data["x"], expected["x"], atol=1e-6)
    np.testing.assert_array_equal(data["y"], expected["y"])
    folder = tmp_path / "two"  # the chunked writer: the same dataset
    assert main(["generate", "--templates", str(shapes), "--num-samples", "500",
                 "--label-noise", "0.5", "--normalize", "none", "--chunk-size", "128",
                 "--out", str(folder)]) == 0
    chunked = files.load(folder)
    np.testing.assert_array_equal(chunked["y"], data["y"])
    np.testing.assert_allclose(chunked["x"], data["x"], atol=1e-6)
    assert chunked["normalize"] == "none"


@pytest.mark.parametrize("name", ["d.pkl", "d.npz", "d"])
def test_files_record_how_their_signals_were_normalised(tmp_path, name):
    data = mnist1d_jax.make_dataset(None, SMALL, normalize="population")
    statistics = mnist1d_jax.population_statistics(SMALL)
    for normalize, recorded in (("population", "population"), (None, None),
                                (statistics, {"mean": float(statistics.mean),
                                              "std": float(statistics.std)})):
        files.save(data, tmp_path / name, SMALL, normalize=normalize)
        assert files.load(tmp_path / name).get("normalize") == recorded
    with pytest.raises(ValueError, match="recorded normalisation must be one of"):
        files.save(data, tmp_path / name, normalize="batch")


def test_a_damaged_template_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--templates", str(bad), "--out", str(tmp_path / "d.npz")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "bad.npy' holds no readable template set" in err and err.count("\n") == 1


@pytest.mark.slow
def test_lab_models_that_do_not_fit_the_data_are_refused_in_one_line():
    from mnist1d_jax.lab import nn, training

    long = mnist1d_jax.make_dataset(None, SMALL.replace(final_seq_length=80))
    with pytest.raises(ValueError, match="does not take signals of 80 points \\(input_size\\)"):
        training.train(nn.CNN, long, jax.random.key(0))
    twenty = mnist1d_jax.make_dataset(None, SMALL, templates=SHAPES[20, 12])
    with pytest.raises(ValueError, match="not \\(2, 20\\): the data have 20 classes "
                                         "\\(num_classes\\)"):
        training.train(nn.MLP, twenty, jax.random.key(0))


@pytest.mark.slow
def test_the_lab_trains_on_twenty_classes():
    from mnist1d_jax.lab import nn, training

    args = mnist1d_jax.get_dataset_args(num_samples=4000)
    data = mnist1d_jax.make_dataset(jax.random.key(14), args, templates=SHAPES[20, 12])
    config = training.TrainConfig(total_steps=1000, eval_every=500)
    model = functools.partial(nn.CNN, num_classes=20)
    result = training.train(model, data, jax.random.split(jax.random.key(0), 2), config=config)
    assert np.asarray(result["test_acc"])[:, -1].min() > 30  # chance is 5%


@pytest.mark.slow
def test_the_loaders_take_templates_and_label_noise():
    from mnist1d_jax.adapters.grain import MNIST1DSource
    from mnist1d_jax.adapters.torch import MNIST1D, MNIST1DStream

    templates = mnist1d_jax.make_templates(SHAPES[20, 12])
    key = jax.random.key(15)
    args = SMALL.replace(label_noise=0.3)
    data = MNIST1D(key=key, args=SMALL, templates=templates)
    assert data.classes == [str(c) for c in range(20)] and int(data.targets.max()) >= 10
    stream = MNIST1DStream(key, args, length=64, block_size=32, templates=templates)
    rows = mnist1d_jax.sample_rows(key, args, np.arange(64), templates=templates)
    assert [int(y) for _, y in stream] == np.asarray(rows["y"]).tolist()
    source = MNIST1DSource(key, args, num_records=64, templates=templates, normalize="none")
    raw = mnist1d_jax.sample_rows(key, args, [5, 9], templates=templates, normalize="none")
    np.testing.assert_array_equal(source.get_batch([5, 9])["x"], raw["x"])
    with pytest.raises(ValueError, match="give a key with them"):
        MNIST1D(templates=templates)
    with pytest.raises(ValueError, match="normalize must be one of 'population', 'none'"):
        MNIST1DSource(key, args, normalize="dataset")


@pytest.mark.slow
def test_sweeps_lottery_simclr_and_metalearning_take_three_classes():
    from mnist1d_jax.lab import contrastive, lottery, meta, sweeps

    data = mnist1d_jax.make_dataset(jax.random.key(16), SMALL.replace(num_samples=300),
                                    templates=np.random.default_rng(3).normal(size=(3, 12)))
    config = sweeps.SweepConfig(steps=20, chunk=20, batch_size=20, eval_every=20)
    out = sweeps.sweep(sweeps.MLP_FAMILY, [4], data, jax.random.key(0), seeds=1, config=config,
                       label_noise=0.2, progress=None)
    assert np.isfinite(out["test_error"]).all()
    search = lottery.search(jax.random.key(0), data, [0.0, 0.5], trials=1,
                            config=lottery.TicketConfig(total_steps=10, eval_every=10,
                                                        hidden=16))
    assert sorted({np.shape(a)[-1] for a in jax.tree.leaves(search["initial"])})[0] == 3
    history = meta.learn_learning_rate(jax.random.key(0), data, 0.1, outer_steps=2,
                                       inner_steps=3)
    assert np.isfinite(np.asarray(history.learning_rate)).all()
    features = np.asarray(data["x"])
    accuracy = contrastive.linear_probe(features, data["y"], np.asarray(data["x_test"]),
                                        data["y_test"], iterations=20)
    assert 0 <= accuracy <= 100


def test_a_whole_template_set_passes_through_jit():
    key = jax.random.key(17)
    whole = jax.jit(lambda t: mnist1d_jax.make_dataset(key, SMALL, templates=t)["y"])(
        mnist1d_jax.get_templates())
    np.testing.assert_array_equal(whole, mnist1d_jax.make_dataset(key, SMALL)["y"])
    with pytest.raises(ValueError, match=r"templates\['y'\] must be the classes 0..9"):
        jax.jit(lambda t: mnist1d_jax.make_dataset(key, SMALL, templates=t)["y"])(
            {**mnist1d_jax.get_templates(), "y": np.arange(11)})
