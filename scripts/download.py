"""`python scripts/download.py`: runs the installed command sparse_pkg.commands.download."""
from sparse_pkg.commands.download import main

if __name__ == "__main__":
    main()
