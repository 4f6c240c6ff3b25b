"""`python scripts/train.py`: runs the installed command sparse_pkg.commands.train."""
from sparse_pkg.commands.train import main

if __name__ == "__main__":
    main()
