"""The S2GAN / CLUSTERING pipeline (compare_gan2/s2gan): stages, resumption,
label files lined up with the images, soft labels, errors, end to end."""

import itertools
import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2 import main as main_lib
from compare_gan2 import run_info
from compare_gan2.datasets import label_files
from compare_gan2.s2gan import pipeline
from compare_gan2.training import checkpoints

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "gin_configs", "s2gan_polygons32.gin")
TINY = [
    "s2gan.num_train_images = 300",
    "s2gan.labeled_fraction = 0.2",
    "s2gan.inference_batch_size = 128",
    "s2gan.gan_schedule = 'train'",
    "s2gan_pretraining.batch_size = 16",
    "s2gan_pretraining.training_steps = 4",
    "ResNetExtractor.widths = (8, 16)",
    "ResNetExtractor.blocks = (1, 1)",
    "options.training_steps = 2",
    "options.batch_size = 8",
    "run_config.save_checkpoints_steps = 2",
    "run_config.iterations_per_loop = 2",
]


def _parse(*extra, config=CONFIG):
  gin.clear_config()
  gin_setup.parse([config], TINY + list(extra))


def _run(model_dir, *extra, stage=None, config=CONFIG):
  _parse(*extra, config=config)
  return pipeline.run(str(model_dir), main_lib.build_schedules(), stage)


def test_stages_resume(tmp_path):
  """Killed after the first stages, a rerun skips them and does the rest."""
  first = _run(tmp_path, stage="partial_labels")
  assert first["partial_labels"]["num_images"] == 300
  _run(tmp_path, stage="pretrain")
  done = os.path.join(tmp_path, "partial_labels", pipeline.DONE)
  mtime = os.path.getmtime(done)
  ckpt = checkpoints.latest_checkpoint(str(tmp_path / "pretrain"))
  results = _run(tmp_path)
  assert list(results) == ["partial_labels", "pretrain", "infer_labels", "gan"]
  assert os.path.getmtime(done) == mtime
  assert checkpoints.latest_checkpoint(str(tmp_path / "pretrain")) == ckpt
  assert checkpoints.is_training_done(str(tmp_path / "gan"))
  # The GAN read the inferred labels: its run_info.json names them.
  dataset = run_info.read(str(tmp_path / "gan"))["dataset"]
  assert dataset["label_file_pattern"].endswith("infer_labels/hard/{split}-*")


def test_inferred_label_files_line_up_with_the_images(tmp_path):
  _run(tmp_path, stage="partial_labels")
  _run(tmp_path, stage="pretrain")
  summary = _run(tmp_path, stage="infer_labels")["infer_labels"]
  assert summary["num_images"] == 300
  hard_pattern = pipeline.label_pattern(str(tmp_path), "infer_labels", "hard")
  names, hard = label_files.read_labels(hard_pattern.format(split="train"))
  assert list(names[:3]) == [b"train/0", b"train/1", b"train/2"]
  _, soft = label_files.read_labels(
      pipeline.label_pattern(str(tmp_path), "infer_labels", "soft").format(
          split="train"), num_soft_classes=6)
  _, partial = label_files.read_labels(
      pipeline.label_pattern(str(tmp_path), "partial_labels").format(split="train"))
  # Record k: the classifier's prediction on rendered training image k (the known
  # label where there is one).
  spec = datasets.get_dataset(name="polygons_32")
  model = pipeline.load_pretrained(str(tmp_path), spec)
  ids = np.array([0, 7, 123, 299])
  images, true = spec.render("train", ids)
  logits = model.predict(tf.constant(images))["class_logits"].numpy()
  np.testing.assert_allclose(soft[ids], logits, rtol=1e-4, atol=1e-4)
  expected = np.where(partial[ids] >= 0, partial[ids], logits.argmax(1))
  np.testing.assert_array_equal(hard[ids], expected)
  np.testing.assert_array_equal(partial[ids][partial[ids] >= 0],
                                true[partial[ids] >= 0])
  # The reported accuracies, from the written files and the rendered classes.
  _, true = spec.render("train", np.arange(300))
  unlabelled = partial < 0
  assert summary["linear_probe_accuracy_unlabelled"] == pytest.approx(
      np.mean(soft.argmax(1)[unlabelled] == true[unlabelled]))
  assert summary["inferred_label_accuracy"] == pytest.approx(np.mean(hard == true))


def test_soft_labels_feed_use_soft_labels(tmp_path):
  results = _run(tmp_path, "s2gan.gan_labels = 'soft'", "options.gan_class = @S3GAN",
                 "S3GAN.self_supervision = 'none'", "S3GAN.use_soft_labels = True",
                 "S3GAN.project_y = True", "S3GAN.use_predictor = True",
                 "resnet_biggan.Discriminator.project_y = False")
  assert results["gan"]["labels"] == "soft"
  dataset = run_info.read(str(tmp_path / "gan"))["dataset"]
  assert dataset["name"] == "soft_labeled_polygons_32"
  assert dataset["label_file_pattern"].endswith("infer_labels/soft/{split}-*")


def test_clustering_stage(tmp_path):
  results = _run(tmp_path, "s2gan.labeled_fraction = 0.0",
                 config=os.path.join(ROOT, "gin_configs", "clustering_polygons32.gin"))
  assert list(results) == ["partial_labels", "pretrain", "infer_labels", "cluster",
                           "gan"]
  assert results["partial_labels"]["num_labelled"] == 0
  cluster = results["cluster"]
  # The written cluster ids: their sizes, and the accuracy of the best one-to-one
  # matching to the rendered classes (every permutation tried).
  _, clusters = label_files.read_labels(
      pipeline.label_pattern(str(tmp_path), "cluster").format(split="train"))
  assert len(clusters) == 300
  assert cluster["cluster_sizes"] == np.bincount(clusters, minlength=6).tolist()
  _, true = datasets.get_dataset(name="polygons_32").render("train", np.arange(300))
  best = max(np.mean(np.array(perm)[clusters] == true)
             for perm in itertools.permutations(range(6)))
  assert cluster["clustering_accuracy"] == pytest.approx(best)
  # The GAN trained on the clusters.
  dataset = run_info.read(str(tmp_path / "gan"))["dataset"]
  assert dataset["label_file_pattern"].endswith("cluster/labels/{split}-*")


def test_cluster_accuracy_is_the_best_matching():
  labels = np.array([0, 0, 1, 1, 2, 2, 2])
  clusters = np.array([2, 2, 0, 0, 1, 1, 0])  # A permutation, one mistake.
  assert pipeline.cluster_accuracy(clusters, labels, 3) == pytest.approx(6 / 7)


def test_refuses_a_labelled_fraction_with_a_missing_class(tmp_path):
  with pytest.raises(errors.ConfigError, match="without a labelled example"):
    _run(tmp_path, "s2gan.num_train_images = 30", "s2gan.labeled_fraction = 0.05",
         stage="partial_labels")


@pytest.mark.parametrize("extra, stage, error, message", [
    ([], "infer_labels", pipeline.StageOutputMissingError, "stage 'partial_labels'"),
    (["dataset.name = 'celeb_a'"], "partial_labels", errors.ConfigError, "class labels"),
    (["dataset.labeled_fraction = 0.1"], "partial_labels", errors.ConfigError,
     "s2gan.labeled_fraction"),
    (["s2gan.num_train_images = None"], "partial_labels", errors.ConfigError,
     "num_train_images"),
    (["s2gan.labeled_fraction = 0.0"], None, errors.ConfigError, "labeled_fraction > 0"),
])
def test_errors(tmp_path, extra, stage, error, message):
  with pytest.raises(error, match=message):
    _run(tmp_path, *extra, stage=stage)


@pytest.mark.slow
def test_cpu_scale_pipeline_end_to_end(tmp_path):
  """The shipped CPU-scale config runs every stage (fewer steps and images)."""
  gin.clear_config()
  gin_setup.parse([CONFIG], ["s2gan.num_train_images = 2000",
                             "s2gan_pretraining.training_steps = 50",
                             "options.training_steps = 20",
                             "run_config.save_checkpoints_steps = 20",
                             "s2gan.gan_schedule = 'eval_after_train'",
                             "eval.num_samples = 500"])
  results = pipeline.run(str(tmp_path), main_lib.build_schedules(),
                         eval_every_steps=0, num_eval_averaging_runs=1)
  assert results["infer_labels"]["num_images"] == 2000
  assert os.path.exists(tmp_path / "gan" / "scores.csv")


def test_pretraining_reads_a_separate_labelled_batch(tmp_path):
  """S4L-style input: B images of the training set (labels -1 where unknown)
  and L labelled ones; a resumed pipeline continues both streams."""
  from compare_gan2.s2gan import pretraining  # pylint: disable=g-import-not-at-top
  _run(tmp_path, stage="partial_labels")
  spec = pipeline.labelled_dataset_spec(pipeline.label_pattern(str(tmp_path), "partial_labels"))
  labelled = datasets.get_dataset(name="labeled_only_" + spec.name)
  model = pretraining.build(spec, labelled)
  assert model.labelled_batch_size == 32 and model.batch_size == 16
  batches = list(model.input_fn(16).take(3).as_numpy_iterator())
  (images, labels), (l_images, l_labels) = batches[0]
  assert images.shape == (16, 32, 32, 3) and l_images.shape == (32, 32, 32, 3)
  assert (labels == -1).any() and (l_labels >= 0).all()
  resumed = next(iter(model.input_fn(16, start_index=2 * 16).as_numpy_iterator()))
  np.testing.assert_array_equal(resumed[1][1], batches[2][1][1])
  np.testing.assert_array_equal(resumed[0][0], batches[2][0][0])
  assert pretraining.build(spec).labelled_batch_size == 0


_IMAGENET_OVERRIDES = [
    "dataset.name = 'polygons_128'", "options.disc_iters = 1",
    "resnet_biggan.Generator.ch = 8", "resnet_biggan.Discriminator.ch = 8",
    "ResNetExtractor.widths = (4, 4, 4, 8)", "ResNetExtractor.blocks = (1, 1, 1, 1)",
    "s2gan.num_label_files = 2",
    "s2gan_pretraining.labelled_batch_size = 8", "s2gan.num_train_images = 100",
    "s2gan.labeled_fraction = 0.5"]


@pytest.mark.slow
@pytest.mark.parametrize("config", [
    "s2gan_polygons32.gin", "clustering_polygons32.gin", "clustering_ss_polygons32.gin",
    "s2gan_imagenet128.gin", "clustering_imagenet128.gin",
    "clustering_ss_imagenet128.gin"])
def test_shipped_pipeline_configs_run(tmp_path, config):
  """Every shipped S2GAN / CLUSTERING config runs all its stages (tiny sizes;
  the ImageNet ones on polygons_128 with narrow networks)."""
  extra = list(_IMAGENET_OVERRIDES) if "imagenet" in config else []
  if "clustering" in config:
    extra.append("s2gan.labeled_fraction = 0.0")
  results = _run(tmp_path, *extra, config=os.path.join(ROOT, "gin_configs", config))
  assert "gan" in results and checkpoints.is_training_done(str(tmp_path / "gan"))


@pytest.mark.parametrize("rotate, expected", [(True, 4 * 16 + 4 * 32), (False, 4 * 16 + 32)])
def test_labelled_images_are_rotated_as_in_s4l(tmp_path, rotate, expected):
  from compare_gan2.s2gan import pretraining  # pylint: disable=g-import-not-at-top
  _run(tmp_path, f"s2gan_pretraining.rotate_labelled = {rotate}", stage="partial_labels")
  spec = pipeline.labelled_dataset_spec(pipeline.label_pattern(str(tmp_path), "partial_labels"))
  model = pretraining.build(spec, datasets.get_dataset(name="labeled_only_" + spec.name))
  model.build()
  seen = []
  original = model.extractor.__call__
  class Recording:
    def __init__(self, inner):
      self.inner = inner
    def __getattr__(self, name):
      return getattr(self.inner, name)
    def __call__(self, images, is_training):
      seen.append(int(images.shape[0]))
      return original(images, is_training)
  model.extractor = Recording(model.extractor)
  model.losses(*next(iter(model.input_fn(16))))
  assert seen == [expected]


def test_num_train_images_is_required_without_a_known_split_size():
  """A TFDS dataset or image folder has no split_size: a ConfigError naming the
  binding (it was an AttributeError)."""
  class NoSplitSize:
    name = "cifar10"
  options = pipeline.get_options(num_train_images=None)
  with pytest.raises(errors.ConfigError, match="set s2gan.num_train_images"):
    pipeline._num_train_images(NoSplitSize(), options)  # pylint: disable=protected-access
  assert pipeline._num_train_images(  # pylint: disable=protected-access
      datasets.get_dataset("mnist_5k_32"), options) == 4500
