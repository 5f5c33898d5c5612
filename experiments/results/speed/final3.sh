#!/bin/bash
# Final figures, sequential on an otherwise idle machine: main before issue 13 (1feec6a) vs
# this tree vs compare_gan's formulation (time_step.py, same harness), twice interleaved,
# then the benchmark JSON, then mixed_bfloat16 for the demo and (b) ((a)'s ran after its series).
PY=/work/main/.venv/bin/python
OUT=/tmp/speed/final3
mkdir -p $OUT
ts() {  # name tree threads config steps [binding]
  local name=$1 tree=$2 threads=$3 cfg=$4 steps=$5; shift 5
  if [ "$threads" = 1 ]; then export TF_NUM_INTRAOP_THREADS=1; else unset TF_NUM_INTRAOP_THREADS; fi
  (cd /tmp/speed && PYTHONPATH=$tree $PY time_step.py /tmp/snap/gin_configs/$cfg $steps "$@" 2>/dev/null | tail -1 >> $OUT/$name.jsonl)
}
bm() {  # name threads args...
  local name=$1 threads=$2; shift 2
  if [ "$threads" = 1 ]; then export TF_NUM_INTRAOP_THREADS=1; else unset TF_NUM_INTRAOP_THREADS; fi
  (cd /tmp/snap && PYTHONPATH=/tmp/snap $PY -m compare_gan2.benchmark --json "$@" 2>$OUT/$name.log | tail -1 > $OUT/$name.json)
}
series() {  # name threads config steps: main, this tree, compare_gan's formulation, twice
  for i in 1 2; do
    ts $1 /tmp/baseline $2 $3 $4
    ts $1 /tmp/snap $2 $3 $4
    ts $1 /tmp/snap $2 $3 $4 "resampling.fused = False"
  done
}
series demo 1 biggan_polygons32.gin 200
ts demo /tmp/snap default biggan_polygons32.gin 200 "run_config.jit_compile = True"
series a default benchmark_biggan32.gin 10
ts a /tmp/snap default benchmark_biggan32.gin 10 'run_config.precision = "mixed_bfloat16"'
series b default benchmark_biggan128.gin 10
bm bench_demo 1 --gin_config gin_configs/biggan_polygons32.gin --steps 100
bm bench_a default --gin_config gin_configs/benchmark_biggan32.gin --steps 10
bm bench_b default --gin_config gin_configs/benchmark_biggan128.gin --steps 5
# mixed_bfloat16 on the same tree, right after:
ts demo /tmp/snap 1 biggan_polygons32.gin 200 'run_config.precision = "mixed_bfloat16"'
ts b /tmp/snap default benchmark_biggan128.gin 10 'run_config.precision = "mixed_bfloat16"'
echo DONE > $OUT/DONE
