"""Augmentations of what the discriminator sees (data-efficient GAN training).

Pure, stateless TensorFlow functions: images [N, H, W, C] in [-1, 1] and a [2]
stateless seed in, augmented images out; differentiable w.r.t. the images (the
generator's gradient passes through them), in float32 whatever the caller's
precision. Nothing here is wired into a GAN; the GANs call these functions.

diffaugment.py  DiffAugment (Zhao et al., NeurIPS 2020): the policies color,
                translation, cutout (`diff_augment`, `parse_policy`)
ada.py          ADA (Karras et al., NeurIPS 2020): the bgc pipeline with one
                probability p (`ada_augment`), its p update (`adjust_p`) and
                the overfitting heuristic's statistics (`rt_statistics`)

docs/data_efficient.md says what each follows and where it differs.
"""
