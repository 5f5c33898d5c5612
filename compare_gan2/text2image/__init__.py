"""Text-to-image GANs: StyleGAN-T's recipe (Sauer et al., ICML 2023) on the
package's offline text–image pair (compare_gan2/clip).

augment.py   DiffAugment (color, translation, cutout), seeded per step
networks.py  the text-conditional generator and the projected discriminator
gan.py       TextToImageGAN: the Trainer model (gin `text_to_image_gan.*`)
runner.py    the training run (`python -m compare_gan2.text2image`, __main__.py)
loader.py    a trained model back from its directory
sample.py    `python -m compare_gan2.text2image.sample`: a prompt grid
evaluate.py  `python -m compare_gan2.text2image.evaluate`: FID, CLIP score,
             attribute accuracy, seen vs held-out, the truncation curve
export.py    `python -m compare_gan2.text2image.export`: the Hub module
"""
