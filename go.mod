module usersapi

go 1.26
