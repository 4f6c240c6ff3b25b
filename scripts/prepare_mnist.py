"""`python scripts/prepare_mnist.py`: the installed command sparse_pkg.commands.prepare_mnist."""
from sparse_pkg.commands.prepare_mnist import main

if __name__ == "__main__":
    main()
