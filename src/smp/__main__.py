from smp.cli.main import main

main()
