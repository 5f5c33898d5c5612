#!/bin/bash
# Final figures, sequential on an otherwise idle machine: today's main vs this tree vs
# the direct formulation (time_step.py, same harness for all), then the benchmark JSON.
PY=/work/main/.venv/bin/python
OUT=/tmp/speed/final2
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
ts demo /tmp/baseline 1 biggan_polygons32.gin 200
ts demo /tmp/snap 1 biggan_polygons32.gin 200
ts demo /tmp/snap 1 biggan_polygons32.gin 200 "resampling.fused = False"
ts demo /tmp/snap default biggan_polygons32.gin 200 "run_config.jit_compile = True"
ts a /tmp/baseline default benchmark_biggan32.gin 10
ts a /tmp/snap default benchmark_biggan32.gin 10
ts a /tmp/snap default benchmark_biggan32.gin 10 "resampling.fused = False"
ts a /tmp/snap default benchmark_biggan32.gin 10 'run_config.precision = "mixed_bfloat16"'
ts b /tmp/baseline default benchmark_biggan128.gin 10
ts b /tmp/snap default benchmark_biggan128.gin 10
ts b /tmp/snap default benchmark_biggan128.gin 10 "resampling.fused = False"
bm bench_demo 1 --gin_config gin_configs/biggan_polygons32.gin --steps 100
bm bench_a default --gin_config gin_configs/benchmark_biggan32.gin --steps 10
bm bench_b default --gin_config gin_configs/benchmark_biggan128.gin --steps 5
echo DONE > $OUT/DONE
