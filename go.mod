module retainer

go 1.26.8
