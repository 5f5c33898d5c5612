"""`python -m compare_gan2.singan.edit`: editing with a trained ConSinGAN model.

  python -m compare_gan2.singan.edit --model_dir=D --naive=edited.png \
      [--mask=edit_mask.png] [--fine_tune=500] --out=edited_out.png

The edited image (plus 0.1 * N(0, 1) noise) replaces z_0 at the coarsest stage;
see compare_gan2/singan/harmonize.py for the details.
"""

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from compare_gan2 import flags_help  # noqa: E402
from compare_gan2.singan import harmonize  # noqa: E402

if __name__ == "__main__":
  harmonize.define_flags()
  flags_help.run(harmonize.main_for("editing", "python -m compare_gan2.singan.edit"),
                 __doc__, modules=("compare_gan2.singan.harmonize",))
