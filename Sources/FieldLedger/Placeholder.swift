import FieldStore
