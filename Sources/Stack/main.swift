import StackCommands

StackMain.run()
