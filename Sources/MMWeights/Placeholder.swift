import MMCore
