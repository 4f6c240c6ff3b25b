"""Write a synthetic Speech Commands archive (same layout as the real one) for the offline demo."""

from __future__ import annotations

import click

from sparse_pkg.cli import handle_errors, log, verbose_option
from sparse_pkg.synthetic.archive import write_synthetic_archive


@click.command(context_settings={"show_default": True})
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Archive (.tar.gz).")
@click.option("--speakers", type=click.IntRange(min=1), required=True,
              help="Number of synthetic voices.")
@click.option("--utterances-per-word", type=click.IntRange(min=1), required=True,
              help="Clips per digit word, dealt over the speakers.")
@click.option("--seed", type=int, required=True, help="Same seed and sizes -> same bytes.")
@verbose_option
@handle_errors
def main(out, speakers, utterances_per_word, seed):
    """Synthesise the ten digit words, the split lists and background noises into OUT."""
    summary = write_synthetic_archive(out, speakers=speakers,
                                      utterances_per_word=utterances_per_word, seed=seed)
    log(f"wrote {out}: {summary}")


if __name__ == "__main__":
    main()
