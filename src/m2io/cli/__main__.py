from m2io.cli import main

main()
