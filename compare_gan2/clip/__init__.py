"""The offline "CLIP": a text transformer and an image encoder trained
contrastively on captioned images (Radford et al., 2021), the text–image pair
compare_gan2's text-to-image GANs condition on, build D's features from and
are guided and scored by.

encoders.py     TextTransformer, ImageEncoder (plain Network modules)
loss.py         CLIP's symmetric InfoNCE loss
pretraining.py  ClipPretraining: the Trainer model (gin `clip_pretraining.*`)
model.py        TextImageModel: a trained pair (or an external text encoder)
                behind one interface, loaded from a model directory or handle
__main__.py     `python -m compare_gan2.clip`: pre-trains a pair
"""
