print("promptlab")
