"""S2GAN and the CLUSTERING baselines end to end (Lucic, Tschannen, Ritter et al.,
"High-Fidelity Image Generation With Fewer Labels", ICML 2019).

`python -m compare_gan2.s2gan --gin_config F --model_dir D` runs the stages of
pipeline.py: partial labels, self-supervised pre-training of a feature extractor
(rotation + a linear classifier on the labelled fraction, S4L-style), label
inference, k-means clustering of the features, and the conditional GAN on the
labels the Gin file selects. compare_gan shipped only the GAN half.
"""
