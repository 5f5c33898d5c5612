"""The import layers of WORKSPACE.md ("Import layers"): no import from a lower
layer to a higher one, no import cycle, lazy imports included."""

import ast
import collections
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "compare_gan2"


def read_layers():
  """{module prefix (without "compare_gan2."): layer number} of WORKSPACE.md."""
  with open(os.path.join(ROOT, "WORKSPACE.md")) as f:
    text = f.read()
  section = text.split("## Import layers", 1)[1].split("\n## ", 1)[0]
  layers = {}
  for number, modules in re.findall(r"^\| (\d+) [^|]*\| ([^|]+) \|$", section,
                                    re.M):
    for name in modules.split(","):
      layers[name.strip()] = int(number)
  return layers


def package_modules():
  """{dotted module name: file path} of the package."""
  modules = {}
  for dirpath, _, files in os.walk(os.path.join(ROOT, PACKAGE)):
    for name in files:
      if name.endswith(".py"):
        path = os.path.join(dirpath, name)
        module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
        modules[module.removesuffix(".__init__")] = path
  return modules


def _resolve(name, modules):
  """The package module an imported name lives in (longest prefix), or None."""
  while name:
    if name in modules:
      return name
    name = name.rpartition(".")[0]
  return None


def import_graph(modules):
  """{module: {imported package modules}} over every import statement."""
  graph = collections.defaultdict(set)
  for module, path in modules.items():
    with open(path) as f:
      tree = ast.parse(f.read())
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for node in ast.walk(tree):
      names = []
      if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
          parent = package.rsplit(".", node.level - 1)[0]
          base = parent + ("." + base if base else "")
        names = [base] + [f"{base}.{alias.name}" for alias in node.names]
      for name in names:
        target = _resolve(name, modules) if name.startswith(PACKAGE) else None
        # A module's own ancestor packages run before it anyway: not an edge.
        if target and not (module + ".").startswith(target + "."):
          graph[module].add(target)
  return graph


def layer_of(module, layers):
  name = module.removeprefix(PACKAGE).lstrip(".") or PACKAGE
  while name:
    if name in layers:
      return layers[name]
    name = name.rpartition(".")[0]
  return None


def test_every_module_has_a_layer():
  layers = read_layers()
  assert len(layers) > 20
  missing = [m for m in package_modules() if layer_of(m, layers) is None]
  assert not missing, f"Add these modules to WORKSPACE.md's layer table: {missing}"


def test_no_import_from_a_lower_layer_to_a_higher_one():
  layers = read_layers()
  graph = import_graph(package_modules())
  upward = sorted(f"{m} (layer {layer_of(m, layers)}) imports {t} (layer "
                  f"{layer_of(t, layers)})"
                  for m, targets in graph.items() for t in targets
                  if layer_of(t, layers) > layer_of(m, layers))
  assert not upward, "\n".join(upward)


def _cycles(graph):
  """Strongly connected components with more than one module (Tarjan)."""
  index, low, stack, on_stack, found = {}, {}, [], set(), []

  def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in graph.get(v, ()):
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        found.append(sorted(component))

  for v in list(graph):
    if v not in index:
      visit(v)
  return found


def test_no_import_cycles():
  assert not _cycles(import_graph(package_modules()))


def test_the_checks_see_cycles_and_lazy_imports():
  graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
  assert _cycles(graph) == [["a", "b", "c"]]
  modules = package_modules()
  graph = import_graph(modules)
  # main.py imports the schedules inside build_schedules() only.
  assert "compare_gan2.training.runner" in graph["compare_gan2.main"]


def test_tensorflow_free_modules():
  code = ("import sys\n"
          "import compare_gan2.model_dir, compare_gan2.errors\n"
          "import compare_gan2.sweep, compare_gan2.report\n"
          "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\n")
  subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_builder_sits_below_training_and_the_strategy_below_both():
  """The run-from-Gin glue (training.runner) builds through `builder`, which
  builds the strategy: one order, no upward import (issue 30, item 5)."""
  layers = read_layers()
  assert (layer_of("compare_gan2.strategy", layers) <
          layer_of("compare_gan2.builder", layers) <
          layer_of("compare_gan2.training.runner", layers))
  graph = import_graph(package_modules())
  assert "compare_gan2.builder" in graph["compare_gan2.training.runner"]
  assert not any(t.startswith("compare_gan2.training")
                 for t in graph["compare_gan2.builder"])
