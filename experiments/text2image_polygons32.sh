#!/bin/bash
# The CPU-scale StyleGAN-T run on captioned_polygons_32 (issue 23): two offline
# CLIPs (seed 1 conditions, guides and feeds D; seed 2 scores), then the GAN.
# Resumable: re-run after an interruption. Results: experiments/results/text2image_polygons32.
set -e
cd "$(dirname "$0")/.."
PY=.venv/bin/python
for seed in 1 2; do
  $PY -m compare_gan2.clip --model_dir=runs/clip_seed$seed \
      --gin_config=gin_configs/clip_captioned_polygons_32.gin \
      --gin_bindings="run_config.tf_random_seed = $seed"
done
$PY -m compare_gan2.text2image --model_dir=runs/t2i_polygons32 \
    --gin_config=gin_configs/stylegan_t_captioned_polygons_32.gin \
    --gin_bindings="text_to_image_gan.clip_dir = 'runs/clip_seed1'" \
    --gin_bindings="text_to_image_gan.training_steps = 2000"
