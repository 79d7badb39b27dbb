from gennai.cli import main

main()
