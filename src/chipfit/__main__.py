from chipfit.cli import main

main()
