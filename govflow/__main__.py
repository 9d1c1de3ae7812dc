from govflow.cli.main import main

main()
