import MMCore
print("mmgraph")
