print("fieldlog")
