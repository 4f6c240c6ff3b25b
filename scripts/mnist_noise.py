"""`python scripts/mnist_noise.py`: runs the installed command sparse_pkg.commands.mnist_noise."""
from sparse_pkg.commands.mnist_noise import main

if __name__ == "__main__":
    main()
