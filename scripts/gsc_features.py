"""`python scripts/gsc_features.py`: runs the installed command sparse_pkg.commands.gsc_features."""
from sparse_pkg.commands.gsc_features import main

if __name__ == "__main__":
    main()
