from gatepass.cli import main

main()
