from esimhub.entry import main

main()
