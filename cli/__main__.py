from convergio_llm.cli.main import main

main()
