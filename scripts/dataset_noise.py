"""`python scripts/dataset_noise.py`: runs the installed command
sparse_pkg.commands.dataset_noise."""
from sparse_pkg.commands.dataset_noise import main

if __name__ == "__main__":
    main()
