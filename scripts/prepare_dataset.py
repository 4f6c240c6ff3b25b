"""`python scripts/prepare_dataset.py`: runs the installed command
sparse_pkg.commands.prepare_dataset."""
from sparse_pkg.commands.prepare_dataset import main

if __name__ == "__main__":
    main()
