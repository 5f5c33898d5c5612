"""Single-image GANs: ConSinGAN (Hinz et al., WACV 2021) on the package's parts.

schedule.py   the image pyramid (the official stage sizes)
networks.py   the growing generator and the patch discriminator (tf.Module)
training.py   gin `consingan.*`, one stage's training step, the training state
augment.py    the augmented first inputs of the harmonization / editing modes
images.py     the picture: a file or a photograph bundled with scikit-image
runner.py     a model directory: train / resume, checkpoints, samples, logs
__main__.py   `python -m compare_gan2.singan` (training)
sample.py     `python -m compare_gan2.singan.sample` (PNG grids, other sizes)
export.py     `python -m compare_gan2.singan.export` (a TF2 SavedModel for hub.load)
evaluate.py   `python -m compare_gan2.singan.evaluate` (diversity, patch FID, SIFID)
harmonize.py  `python -m compare_gan2.singan.harmonize` (and edit.py: editing)
"""
