"""compare_gan2.sweep: expansion, run names, resumption, --print_commands, errors."""

import json
import os
import shlex
import subprocess
import sys

import pytest

from compare_gan2 import sweep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A stand-in for compare_gan2.main: records its argv in <model_dir>/calls.jsonl and
# exits with the code bound as "fake.exit_code = N" (default 0).
_FAKE_MODULE = '''
import json, os, sys
args = sys.argv[1:]
model_dir = [a.split("=", 1)[1] for a in args if a.startswith("--model_dir=")][0]
with open(os.path.join(model_dir, "calls.jsonl"), "a") as f:
  f.write(json.dumps(args) + "\\n")
code = [int(float(a.rsplit("=", 1)[1])) for a in args if a.startswith("--gin_bindings=fake.exit_code")]
print("fake run", model_dir)
sys.exit(code[0] if code else 0)
'''


def _write_sweep(directory, spec, base_gin="options.batch_size = 4\n"):
  directory.mkdir(parents=True, exist_ok=True)
  (directory / "base.gin").write_text(base_gin)
  (directory / "sweep.json").write_text(json.dumps(spec))
  return sweep.load(str(directory))


def _grid_spec(**extra):
  spec = {
      "gin_config": ["base.gin"],
      "bindings": ["options.training_steps = 10"],
      "flags": {"schedule": "eval_after_train", "eval_every_steps": 5},
      "axes": [
          {"binding": "loss.fn", "values": ["@hinge", "@wasserstein"]},
          {"name": "norm", "values": {"none": [], "sn": "D.spectral_norm = True",
                                      "ln": ["D.layer_norm = True",
                                             "D.spectral_norm = False"]}},
          {"name": "arch", "values": {"resnet": "options.architecture = 'r'"}},
      ],
      "seeds": [1, 2],
  }
  spec.update(extra)
  return spec


def test_expansion_names_bindings_and_seeds(tmp_path):
  spec = _write_sweep(tmp_path / "s", _grid_spec())
  runs = sweep.expand(spec)
  assert len(runs) == 2 * 3 * 2
  names = [r["name"] for r in runs]
  # Single-valued axes ("arch") are not in the names; seeds are innermost.
  assert names[:4] == ["loss.fn-hinge,norm-none,seed-1",
                       "loss.fn-hinge,norm-none,seed-2",
                       "loss.fn-hinge,norm-sn,seed-1",
                       "loss.fn-hinge,norm-sn,seed-2"]
  assert len(set(names)) == len(names)
  run = runs[5]
  assert run["name"] == "loss.fn-hinge,norm-ln,seed-2"
  assert run["choices"] == {"loss.fn": "hinge", "norm": "ln", "arch": "resnet"}
  assert run["seed"] == 2
  assert run["bindings"] == ["options.training_steps = 10", "loss.fn = @hinge",
                             "D.layer_norm = True", "D.spectral_norm = False",
                             "options.architecture = 'r'",
                             "run_config.tf_random_seed = 2"]
  assert run["gin_config"] == [str(tmp_path / "s" / "base.gin")]
  assert run["module"] == "compare_gan2.main"
  cmd = sweep.command(run, str(tmp_path / "root"), python="py")
  assert cmd[:4] == ["py", "-m", "compare_gan2.main",
                     f"--model_dir={tmp_path / 'root' / run['name']}"]
  assert "--gin_bindings=run_config.tf_random_seed = 2" in cmd
  assert cmd[-2:] == ["--eval_every_steps=5", "--schedule=eval_after_train"]


def test_variants_set_gin_files_module_and_flags(tmp_path):
  (tmp_path / "s").mkdir()
  (tmp_path / "s" / "other.gin").write_text("")
  spec = _write_sweep(tmp_path / "s", {
      "gin_config": ["base.gin"], "seeds": [3], "seed_binding": "my.seed",
      "axes": [{"name": "method", "values": {
          "plain": {},
          "pipe": {"gin_config": ["other.gin"], "module": "compare_gan2.s2gan",
                   "bindings": ["s2gan.labeled_fraction = 0.1"],
                   "flags": {"eval_every_steps": 0}}}}]})
  plain, pipe = sweep.expand(spec)
  assert (plain["name"], pipe["name"]) == ("method-plain,seed-3", "method-pipe,seed-3")
  assert plain["module"] == "compare_gan2.main" and plain["flags"] == {}
  assert pipe["module"] == "compare_gan2.s2gan"
  assert pipe["gin_config"][-1] == str(tmp_path / "s" / "other.gin")
  assert pipe["bindings"] == ["s2gan.labeled_fraction = 0.1", "my.seed = 3"]
  assert pipe["flags"] == {"eval_every_steps": 0}


@pytest.mark.parametrize("spec, message", [
    ({"axes": [{"values": ["a"]}]}, "needs a \"name\""),
    ({"axes": [{"binding": "x.y", "values": []}]}, "non-empty list"),
    ({"axes": [{"binding": "x.y", "values": ["@a", "'a'"]}]}, "same run name"),
    ({"seeds": []}, "seeds"),
    ({"seedz": [1]}, "unknown keys"),
    ({"gin_config": ["missing.gin"]}, "missing.gin"),
    ({"axes": [{"name": "m", "values": {"a": {"bindingz": []}}}]}, "unknown keys"),
])
def test_bad_sweep_files_name_the_problem(tmp_path, spec, message):
  with pytest.raises(sweep.SweepError, match=message):
    sweep.expand(_write_sweep(tmp_path / "s", spec))


def test_missing_sweep_file(tmp_path):
  with pytest.raises(sweep.SweepError, match="No sweep file"):
    sweep.load(str(tmp_path))


def _fake_spec(tmp_path, **extra):
  (tmp_path / "fake_run.py").write_text(_FAKE_MODULE)
  spec = {"gin_config": ["base.gin"], "module": "fake_run",
          "env": {"PYTHONPATH": str(tmp_path)},
          "axes": [{"binding": "fake.exit_code", "values": [0, 0.0, 3]}],
          "seeds": [1, 2]}
  spec.update(extra)
  return _write_sweep(tmp_path / "s", spec)


def _calls(root, name):
  path = os.path.join(root, name, "calls.jsonl")
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(l) for l in f]


def test_runs_in_processes_resumes_and_retries_failures(tmp_path):
  spec = _fake_spec(tmp_path)
  root = str(tmp_path / "root")
  results = sweep.run_sweep(spec, root, max_parallel=2, poll_seconds=0.05)
  assert results == {"fake.exit_code-0,seed-1": "done",
                     "fake.exit_code-0,seed-2": "done",
                     "fake.exit_code-0.0,seed-1": "done",
                     "fake.exit_code-0.0,seed-2": "done",
                     "fake.exit_code-3,seed-1": "failed",
                     "fake.exit_code-3,seed-2": "failed"}
  done = "fake.exit_code-0,seed-1"
  assert sweep.status(root, done) == "done"
  assert sweep.status(root, "fake.exit_code-3,seed-2") == "failed"
  with open(os.path.join(root, "fake.exit_code-3,seed-2",
                         sweep.STATUS_FILENAME)) as f:
    assert json.load(f)["returncode"] == 3
  with open(os.path.join(root, done, sweep.RUN_FILENAME)) as f:
    record = json.load(f)
  assert record["seed"] == 1 and record["choices"] == {"fake.exit_code": "0"}
  assert "fake run" in open(os.path.join(root, done, sweep.LOG_FILENAME)).read()
  assert os.path.exists(os.path.join(root, sweep.SWEEP_FILENAME))
  # Again: finished runs are skipped, failed ones run again (and resume).
  results = sweep.run_sweep(spec, root, max_parallel=2, poll_seconds=0.05)
  assert results[done] == "skipped"
  assert results["fake.exit_code-3,seed-1"] == "failed"
  assert len(_calls(root, done)) == 1
  assert len(_calls(root, "fake.exit_code-3,seed-1")) == 2
  # An interrupted run (status "running" left behind) runs again.
  with open(os.path.join(root, done, sweep.STATUS_FILENAME), "w") as f:
    json.dump({"status": "running"}, f)
  sweep.run_sweep(spec, root, max_parallel=1, poll_seconds=0.05)
  assert len(_calls(root, done)) == 2


def test_changed_bindings_in_an_existing_run_dir_are_an_error(tmp_path):
  spec = _fake_spec(tmp_path, axes=[{"binding": "fake.exit_code", "values": [0]}],
                    seeds=[1])
  root = str(tmp_path / "root")
  sweep.run_sweep(spec, root, poll_seconds=0.05)
  changed = _fake_spec(tmp_path, axes=[{"binding": "fake.exit_code", "values": [0]}],
                       seeds=[1], bindings=["x.y = 1"])
  with pytest.raises(sweep.SweepError, match="other bindings"):
    sweep.run_sweep(changed, root, poll_seconds=0.05)
  assert sweep.status(root, "seed-1") == "done"  # The result is kept.


def test_print_commands_lists_runs_not_done(tmp_path, capsys):
  spec = _fake_spec(tmp_path, axes=[{"binding": "fake.exit_code", "values": [0, 3]}],
                    seeds=[1])
  root = str(tmp_path / "root")
  assert sweep.main([str(tmp_path / "s"), "--root", root, "--print_commands"]) == 0
  lines = capsys.readouterr().out.splitlines()
  assert len(lines) == 2
  words = shlex.split(lines[0])
  assert f"PYTHONPATH={tmp_path}" in words
  assert words[words.index("-m") + 1] == "fake_run"
  assert f"--model_dir={os.path.join(root, 'fake.exit_code-0,seed-1')}" in words
  assert "--gin_bindings=fake.exit_code = 0" in words
  assert not os.path.exists(root)  # Printed, not run: nothing is created ...
  # ... and this machine's thread count is not baked into the commands.
  assert not any(w.startswith("TF_NUM_INTRAOP_THREADS=") for w in words)
  # The printed command is the one the sweep runs.
  os.makedirs(os.path.join(root, "fake.exit_code-0,seed-1"))
  env = dict(os.environ, PYTHONPATH=str(tmp_path))
  subprocess.run(words[words.index(sys.executable):], env=env, check=True,
                 capture_output=True)
  assert len(_calls(root, "fake.exit_code-0,seed-1")) == 1
  sweep.run_sweep(spec, root, poll_seconds=0.05)
  assert sweep.main([str(tmp_path / "s"), "--root", root, "--print_commands"]) == 0
  assert capsys.readouterr().out.count("fake_run") == 1  # Only the failed run.


def test_cli_error_exit_code(tmp_path, capsys):
  assert sweep.main([str(tmp_path / "nothing"), "--root", str(tmp_path)]) == 2
  assert "No sweep file" in capsys.readouterr().err


def test_shipped_sweeps_expand():
  for name, count in (("gan_landscape", 36), ("fewer_labels", 24)):
    runs = sweep.expand(sweep.load(os.path.join(ROOT, "experiments", name)))
    assert len(runs) == count
    assert all(os.path.isfile(f) for r in runs for f in r["gin_config"])


def test_sweep_and_report_do_not_import_tensorflow():
  code = ("import sys; import compare_gan2.sweep, compare_gan2.report; "
          "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
  subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
